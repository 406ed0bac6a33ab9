"""Partial-dependence grids: a column's data type, its grid values and its data distribution.

Clarify's documentation says which grid each type gets (contract §6.4, spec ``pdp.md`` §2)
but not how a column's type is detected nor how a bucket edge or a missing value is
counted. The rules below are our choices; each is pinned by a test.

Data type
    * ``bool`` and pandas ``category`` columns: categorical.
    * float columns: numerical.
    * integer columns (numpy or nullable): numerical when the distinct values are at least
      5 % of the non-missing values, else categorical (the distinct-fraction rule Clarify
      applies to facet and label columns, contract §3.3), so a 0/1 or 1..5 column is plotted
      at its own values rather than in mostly empty buckets.
    * text columns (``str``/``object``): free text when at least half of the non-missing
      values hold two or more words *and* more than half of the non-missing values are
      distinct; otherwise categorical. Free text gets an error entry.
    * anything else (datetimes, timedeltas, intervals, ...): not supported, error entry with
      ``data_type`` = ``"datetime"``, ``"timedelta"`` or ``"other"``.
    * a column with no non-missing value: error entry.

Numerical grid
    ``grid_resolution`` equal-width buckets over ``[min, max]`` of the finite non-missing
    values (assumption: the Developer Guide's example has a constant step, spec §2);
    ``feature_values`` are the bucket centres. Buckets are right-closed, ``(e_i, e_i+1]``,
    and the first one also holds the minimum. ``+inf`` counts in the last bucket, ``-inf``
    in the first. A constant column has one grid value (the constant) and distribution
    ``[1.0]``.

Categorical grid
    Every distinct non-missing value, sorted (numbers by value, then text; mixed types
    sort numbers first), as JSON scalars.

Distribution
    Share of the **non-missing** values of the column falling in each bucket or category,
    so the shares sum to 1; missing values are counted separately (in the run manifest).
    Missing values do not take part in the grid; every row, whatever its value of the
    feature, takes part in the averages, since the feature is overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine._column_types import CATEGORICAL, FREE_TEXT, NUMERICAL, pdp_kind

__all__ = ["NUMERICAL", "CATEGORICAL", "FREE_TEXT", "Grid", "column_grid", "data_type", "UNSUPPORTED_MESSAGE"]

#: The PDP data type of a column (module docstring): the rule lives with the other typing rules.
data_type = pdp_kind

#: The error of an entry whose column is neither numerical nor categorical (contract §6.4).
UNSUPPORTED_MESSAGE = ("Detected data type is not supported for PDP. PDP can only be computed for "
                       "numerical or categorical columns")

@dataclass(frozen=True)
class Grid:
    """The grid of one feature.

    Attributes
    ----------
    data_type : str
        ``"numerical"`` or ``"categorical"``.
    values : list
        The ``feature_values`` as JSON scalars, length g.
    distribution : list of float
        Share of the non-missing values in each bucket/category, length g.
    column : pandas.Series
        Length g: the grid values as the model receives them (float64 for numerical
        features; the column's own dtype for categorical ones).
    missing : int
        Missing values of the column (not in ``distribution``).
    """

    data_type: str
    values: list
    distribution: list
    column: pd.Series
    missing: int


def _json_scalar(value):
    """A numpy/pandas scalar as the plain Python value ``json.dumps`` writes."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value.item() if hasattr(value, "item") else value


def _sort_key(value):
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def numerical_grid(values: np.ndarray, grid_resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket centres and the count of values per bucket.

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n,)
        Non-missing values (may hold ±inf).
    grid_resolution : int
        Number of equal-width buckets over ``[min, max]`` of the finite values.

    Returns
    -------
    centres : numpy.ndarray of float64, shape (g,)
        g = ``grid_resolution``, or 1 for a constant column.
    counts : numpy.ndarray of int64, shape (g,)
    """
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        raise ValueError("no finite value")
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        return np.array([lo]), np.array([len(values)], dtype=np.int64)
    edges = np.linspace(lo, hi, grid_resolution + 1)  # (g + 1,), edges[0] = lo, edges[-1] = hi
    centres = (edges[:-1] + edges[1:]) / 2.0
    # Right-closed buckets: the index of the first inner edge >= x; x <= edges[1] -> 0.
    bucket = np.searchsorted(edges[1:-1], values, side="left")
    counts = np.bincount(bucket, minlength=grid_resolution).astype(np.int64)
    return centres, counts


def column_grid(series: pd.Series, grid_resolution: int, kind: str | None = None) -> Grid:
    """The grid of ``series`` for its data type (``kind``, detected when None).

    Raises
    ------
    ValueError
        ``kind`` is neither numerical nor categorical, or the column has no usable value
        (the message is the error entry's text).
    """
    kind = data_type(series) if kind is None else kind
    missing_mask = series.isna().to_numpy(dtype=bool)
    missing = int(missing_mask.sum())
    present = series[~missing_mask]
    if kind == NUMERICAL:
        values = present.to_numpy(dtype=np.float64)
        if not np.isfinite(values).any():
            raise ValueError(f"Column {series.name!r} has no finite numerical value; PDP needs at least one")
        centres, counts = numerical_grid(values, grid_resolution)
        shares = counts / counts.sum()
        return Grid(NUMERICAL, [float(c) for c in centres], [float(s) for s in shares],
                    pd.Series(centres, dtype=np.float64, name=series.name), missing)
    if kind == CATEGORICAL:
        if len(present) == 0:
            raise ValueError(f"Column {series.name!r} has only missing values; PDP needs at least one value")
        codes, uniques = pd.factorize(present, sort=False)
        counts = np.bincount(codes, minlength=len(uniques))
        first = np.full(len(uniques), -1, dtype=np.int64)
        positions = np.flatnonzero(~missing_mask)
        # First position (in the full column) of each distinct value; reversed assignment
        # keeps the earliest.
        first[codes[::-1]] = positions[::-1]
        plain = [_json_scalar(series.iloc[p]) for p in first]
        order = sorted(range(len(uniques)), key=lambda i: _sort_key(plain[i]))
        column = series.iloc[first[order]].reset_index(drop=True)
        total = counts.sum()
        return Grid(CATEGORICAL, [plain[i] for i in order], [float(counts[i] / total) for i in order],
                    column, missing)
    raise ValueError(UNSUPPORTED_MESSAGE)
