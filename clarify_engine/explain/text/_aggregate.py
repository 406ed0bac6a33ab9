"""``global_top_shap_text``: the units with the largest aggregated SHAP values, per text column.

Aggregation (``docs/text.md``): a unit is keyed by its exact text (case and punctuation kept;
for sentence and paragraph granularity the whole unit string). Its global value for one model
output is the job's ``agg_method`` over every occurrence of that text in every record and
position — ``mean_abs``: mean of ``|phi|``, ``mean_sq``: mean of ``phi^2``, ``median``: median of
``phi`` — and its standard error is :func:`clarify_engine.explain._aggregate.aggregate_standard_error`
over the same occurrences. The ``max_top_tokens`` largest are kept, sorted by value descending
(by absolute value for ``median``, whose values keep their sign); ties by first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clarify_engine.explain._aggregate import aggregate, aggregate_standard_error
from clarify_engine.explain.text._result import TextShapResult

__all__ = ["TopUnits", "global_tabular", "top_units"]


@dataclass(frozen=True)
class TopUnits:
    """The top units of one text column for one model output.

    Attributes
    ----------
    column : str
    output : int
        Index of the model output (label).
    units : tuple of str
    values, standard_errors : tuple of float
    """

    column: str
    output: int
    units: tuple
    values: tuple
    standard_errors: tuple


def _occurrences(result: TextShapResult, column: str):
    """unit text -> (list of value rows (D,), list of se rows), in order of first occurrence."""
    found: dict[str, tuple[list, list]] = {}
    for record in result.records:
        for feat in record.features:
            if feat.name != column:
                continue
            for unit, v, s in zip(feat.units, feat.values, feat.standard_errors):
                vals, ses = found.setdefault(unit, ([], []))
                vals.append(v)
                ses.append(s)
    return found


def top_units(result: TextShapResult, agg_method: str, max_top: int) -> list[TopUnits]:
    """The ``max_top`` units of each text column and model output (see the module notes).

    Returns
    -------
    list of TopUnits
        Text columns in model order, outputs in order.
    """
    out = []
    d = result.n_outputs
    for column, kind in result.data_types:
        if kind != "free_text":
            continue
        found = _occurrences(result, column)
        names = list(found)
        if names:
            glob = np.stack([aggregate(np.asarray(found[u][0]), agg_method) for u in names])  # (V, D)
            glob_se = np.stack([aggregate_standard_error(np.asarray(found[u][0]), np.asarray(found[u][1]),
                                                         agg_method) for u in names])
        else:
            glob = glob_se = np.zeros((0, d))
        for k in range(d):
            key = np.abs(glob[:, k]) if agg_method == "median" else glob[:, k]
            order = np.argsort(-key, kind="stable")[:max_top]
            out.append(TopUnits(column, k, tuple(names[o] for o in order),
                                tuple(float(glob[o, k]) for o in order),
                                tuple(float(glob_se[o, k]) for o in order)))
    return out


def global_tabular(result: TextShapResult, agg_method: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Global values of the tabular features: (names, values (F, D), standard errors (F, D)).

    Records that were not explained are left out.
    """
    names = [f for f, kind in result.data_types if kind != "free_text"]
    done = [r for r in result.records if r.error is None]
    d = result.n_outputs
    if not names or not done:
        return names, np.zeros((len(names), d)), np.zeros((len(names), d))
    vals = np.stack([[f.values[0] for f in r.features if f.data_type != "free_text"] for r in done])  # (n, F, D)
    ses = np.stack([[f.standard_errors[0] for f in r.features if f.data_type != "free_text"] for r in done])
    return names, aggregate(vals, agg_method), aggregate_standard_error(vals, ses, agg_method)
