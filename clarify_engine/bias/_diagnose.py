"""Warnings about bias inputs that give numbers, but not the numbers the user asked for.

smclarify computes on silently in these cases; the engine keeps its numbers (unless
``"column_typing": "intent"`` is set) but says so through :mod:`clarify_engine._warnings`:

* ``values_became_threshold``: the column's typing turned the one value given into a
  threshold (a missing cell or ``1.0``-style floats made a 0/1 column continuous);
* ``value_absent``: a given label or facet value occurs in no row;
* ``facet_group_empty`` / ``facet_rest_empty``: no row, or every row, is in the sensitive group;
* ``no_positive_label``: no row has a positive label;
* ``rows_excluded``: intent typing left out rows with a missing cell;
* ``facet_cells_missing``: rows with no facet value are counted with the rest of the facet
  (not the given values), as smclarify counts them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clarify_engine._warnings import warn
from clarify_engine.bias import _columns as C

__all__ = ["absent_values", "check_label", "check_facet_entry", "check_missing_facet", "check_typing",
           "rows_excluded"]

_INTENT_FIX = 'set "column_typing": "intent" at the top level of analysis_config.json'


def _show(values, limit: int = 10) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return f"[{text}{', ...' if len(values) > limit else ''}]"


def check_typing(series: pd.Series, values, kind: str, typing: str, where: str, key: str, selects: str,
                 interval_text: str, weights: np.ndarray | None = None) -> None:
    """Warn when Clarify's typing made the one given value a threshold against the user's intent.

    Parameters
    ----------
    series : pandas.Series
        The label or facet column.
    values : list or None
        The values given in the config.
    kind : str
        The kind the column was typed.
    typing : str
        ``column_typing``.
    where : str
        The column, as warnings name it (``"label column 'Target'"``).
    key : str
        The config key holding ``values``.
    selects : str
        What the selected rows are (``"positive"``, ``"in the sensitive group"``).
    interval_text : str
        The rendered interval (``""`` when it selects nothing).
    weights : numpy.ndarray, optional
        Rows per row of ``series`` (:func:`~clarify_engine.bias._columns.weighted_count`).
    """
    if typing != C.CLARIFY_TYPING or kind != C.CONTINUOUS or not values or len(values) != 1:
        return
    if C.intent_kind(series, values, weights) != C.CATEGORICAL:
        return
    value = values[0]
    chosen = (f"the rows in {interval_text} are {selects}" if interval_text
              else f"no row is {selects} (the threshold is the column's maximum)")
    missing = C.weighted_count(series.isna().to_numpy(), weights)
    cells = (f"fill or drop the {missing} missing cell(s)" if missing
             else "write the column as integers (1, not 1.0)")
    warn(
        "values_became_threshold",
        f"{key} {list(values)!r} became the threshold > {value!r} because the column {C.continuous_reason(series, weights)}: "
        f"{chosen}, not the rows equal to {value!r}.",
        fix=f"{_INTENT_FIX} to treat {list(values)!r} as a value (missing cells are then excluded and counted), "
            f"or {cells} so that Clarify types the column as categorical.",
        where=where,
    )


def absent_values(series: pd.Series, coded: C.Coded, values: list) -> list:
    """The given values that select no row, matched as :func:`categorical_hits` matches them.

    Values are compared as given; only when none of them matches are they converted to the
    type of the column's first element (smclarify's retry), so a value is absent when it
    matches nothing in the way that was actually used.
    """
    family = C._category_family(series)
    direct = [any(C._equal(u, v, family) for u in coded.uniques) for v in values]
    if any(direct):
        return [v for v, hit in zip(values, direct) if not hit]
    if len(series) == 0:
        return list(values)
    try:
        converted = C._convert_like(series.iloc[0], list(values), "values")
    except Exception:  # noqa: BLE001 - unconvertible values are reported as a DataError later
        return list(values)
    return [v for v, c in zip(values, converted) if not any(C._equal(u, c, family) for u in coded.uniques)]


def warn_absent(absent: list, values: list, coded: C.Coded, where: str, key: str) -> None:
    """Warn that ``absent`` values (of ``values`` given under ``key``) occur in no row."""
    if not absent:
        return
    warn(
        "value_absent",
        f"{key} {_show(absent)} occur(s) in no row; the column's values are {_show(coded.uniques)}"
        + (" (missing cells excluded)." if coded.nan_position is not None else "."),
        fix=f"give {key} values that occur in the column, spelled and typed as in the data "
            "(1 and '1' differ when another given value matches).",
        where=where,
    )


def check_label(label: str, positive: np.ndarray, text: str, where: str, weights: np.ndarray | None = None) -> None:
    """Warn when no row has a positive label."""
    if len(positive) and not positive.any():
        warn(
            "no_positive_label",
            f"no row of {C.weighted_count(None, weights, len(positive))} has a positive label (label_value_or_threshold {text!r}); "
            "DPL is 0 and metrics that need positives fail or are 0.",
            fix=f"give label_values_or_threshold values that occur in column {label!r}, or a threshold below its maximum.",
            where=where,
        )


def check_facet_entry(facet: str, text: str, n_d: int, n_a: int, where: str) -> None:
    """Warn when a facet entry's sensitive group, or the rest, is empty."""
    if n_d + n_a == 0:
        return
    if n_d == 0:
        warn(
            "facet_group_empty",
            f"value_or_threshold {text!r} selects no row of {n_a} as the sensitive group; "
            "metrics comparing the groups fail or are 0.",
            fix=f"give value_or_threshold values that occur in column {facet!r} (or a threshold below its maximum); "
                "a 'nan' entry holds the rows with a missing facet cell: fill or drop them, or "
                f"{_INTENT_FIX} to exclude them.",
            where=where,
        )
    elif n_a == 0:
        warn(
            "facet_rest_empty",
            f"value_or_threshold {text!r} selects every row ({n_d}) as the sensitive group; there is no other "
            "group to compare with, so metrics comparing the groups fail.",
            fix=f"give value_or_threshold values that leave some rows of column {facet!r} outside the sensitive group.",
            where=where,
        )


def check_missing_facet(series: pd.Series, values: list, typing: str, where: str,
                        weights: np.ndarray | None = None) -> None:
    """Warn when rows with a missing facet cell count with the rest of the facet (Clarify typing).

    Against ``value_or_threshold`` values, a row with no facet value is not one of them, so
    smclarify (and the engine by default) counts it in the other group; a user who meant "rows
    whose facet is not F" rarely means "or unknown".
    """
    missing = C.weighted_count(series.isna().to_numpy(), weights)
    if typing != C.CLARIFY_TYPING or not missing:
        return
    warn(
        "facet_cells_missing",
        f"{missing} of {C.weighted_count(None, weights, len(series))} rows have no facet value; they are counted with the rows outside "
        f"value_or_threshold {_show(values)}, as Clarify counts them.",
        fix=f"fill or drop the missing facet cells, or {_INTENT_FIX} to exclude those rows (they are then counted "
            "in the warnings).",
        where=where,
    )


def rows_excluded(count: int, total: int, columns: list[str], where: str) -> None:
    """Warn that intent typing left out ``count`` of ``total`` rows with a missing cell in ``columns``."""
    if count:
        warn(
            "rows_excluded",
            f"{count} of {total} rows have a missing cell in {', '.join(map(repr, columns))} and were excluded "
            "from these metrics (column_typing 'intent').",
            fix="fill or drop the missing cells to include those rows.",
            where=where,
        )
