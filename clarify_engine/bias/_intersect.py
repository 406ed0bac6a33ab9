"""Intersectional facets: a facet defined by several columns (e.g. sex × race).

Every combination of the columns' values that occurs is one facet value, compared with all
other rows (one-vs-rest), in order of first appearance; the combination's text joins the
values with ``"|"`` (``"F|2"``), a missing cell reads ``"nan"``. The combinations are coded
once and counted in one pass, so the result equals a run on a derived column built by hand
(each cell as ``str(value)``, joined with ``"|"``). Combinations with fewer rows than
``min_group_size`` are listed with every metric's error saying so: metrics on a handful of
rows are noise, and the report says which groups were too small rather than hiding them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine.bias import _columns as C
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._grouped import (
    BiasResult,
    FacetEntry,
    _LazyFeatures,
    _prepare,
    count_metric,
    metric_entry,
)
from clarify_engine.bias._flip import FT
from clarify_engine.bias._table import count_table
from clarify_engine.errors import DataError

__all__ = ["IntersectionSpec", "intersectional_bias", "SEPARATOR"]

#: Joins the column names and the values of a combination.
SEPARATOR = "|"


@dataclass(frozen=True)
class IntersectionSpec:
    """One intersectional facet.

    Parameters
    ----------
    columns : tuple of str
        Two or more facet columns.
    min_group_size : int
        Combinations with fewer rows get no metrics (default 30).
    name : str, optional
        Name of the facet in the output; default the columns joined with ``"|"``.
    """

    columns: tuple[str, ...]
    min_group_size: int = 30
    name: str | None = None

    def __post_init__(self):
        if len(self.columns) < 2 or len(set(self.columns)) != len(self.columns):
            raise ValueError(f"an intersectional facet needs two or more distinct columns; found {list(self.columns)!r}")
        if not isinstance(self.min_group_size, int) or self.min_group_size < 0:
            raise ValueError(f"min_group_size must be a non-negative integer; found {self.min_group_size!r}")

    @property
    def display_name(self) -> str:
        return self.name or SEPARATOR.join(self.columns)


def _combinations(frame: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Code of each row's combination (in order of first appearance) and each code's text."""
    codes = np.zeros(len(frame), dtype=np.int64)
    texts: list[list[str]] = []
    radix = 1
    for column in columns:
        coded = C.code_column(frame[column])
        k = len(coded.uniques) + 1  # last code: missing cell
        codes += np.where(coded.codes < 0, k - 1, coded.codes) * radix
        texts.append([str(u) for u in coded.uniques] + ["nan"])
        radix *= k
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels = []
    for combo in uniq[order]:
        parts, rest = [], int(combo)
        for column_texts in texts:
            k = len(column_texts)
            parts.append(column_texts[rest % k])
            rest //= k
        labels.append(SEPARATOR.join(parts))
    return rank[np.asarray(inverse).reshape(-1)].astype(np.int64), labels


def intersectional_bias(frame: pd.DataFrame, req: BiasSpec, spec: IntersectionSpec) -> BiasResult:
    """Bias metrics of every combination of ``spec.columns`` against the rest.

    ``req.facets`` is ignored: the facet is the intersection. FT is computed as for a facet.

    Raises
    ------
    DataError
        A column of the intersection is not in the dataset.
    """
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataError(f"intersectional facet {spec.display_name!r}: column(s) {missing} are not in the dataset; "
                        f"columns are {list(frame.columns)[:20]}. List facet columns of the dataset")
    rows = _prepare(frame, req)
    sub, label_pos, pred_pos, groups = rows.frame, rows.label_pos, rows.pred_pos, rows.group_codes
    if req.column_typing == C.INTENT_TYPING:
        present = ~sub[list(spec.columns)].isna().any(axis=1).to_numpy()
        if not present.all():
            sub, label_pos = sub.loc[present], label_pos[present]
            pred_pos = None if pred_pos is None else pred_pos[present]
            groups = None if groups is None else groups[present]
    codes, labels = _combinations(sub, spec.columns)
    table = count_table(codes, len(labels), label_pos, pred_pos, groups,
                        None if groups is None else rows.n_group, check=False)
    sizes = table.counts.sum(axis=(1, 2, 3))
    features = None
    entries = []
    for code, text in enumerate(labels):
        sensitive = np.zeros(len(labels), dtype=bool)
        sensitive[code] = True
        if sizes[code] < spec.min_group_size:
            error = (f"Group has {int(sizes[code])} rows, fewer than min_group_size {spec.min_group_size}; "
                     "lower min_group_size to compute its metrics")
            entries.append(FacetEntry.failed(text, req.methods, error))
            continue
        counts = table.collapse(sensitive)
        metrics = []
        for name in req.methods:
            if name == "FT":
                if features is None:
                    features = _LazyFeatures(sub, [*spec.columns, req.label, req.predicted_label])
                compute = lambda c=code: _flip(features, codes == c, pred_pos)  # noqa: E731
            else:
                compute = lambda f=count_metric(name): f(counts)  # noqa: E731
            metrics.append(metric_entry(name, compute))
        entries.append(FacetEntry(text, tuple(metrics), counts))
    return BiasResult(req.label, rows.label_text, ((spec.display_name, tuple(entries)),), req.stage)


def _flip(features: _LazyFeatures, sensitive: np.ndarray, pred_pos: np.ndarray) -> float:
    return FT(features.matrix, sensitive, pred_pos.astype(bool))
