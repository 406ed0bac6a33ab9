"""Partial dependence over records read chunk by chunk: :func:`stream_pdp`, never holding the dataset.

Two passes over the data, both exact:

1. **Profile.** Per chosen feature: missing and non-missing counts, the minimum and maximum of
   the finite values of a numeric column, and (for every column that is not float) its distinct
   non-missing values with their counts in order of first appearance, plus the counts the
   free-text rule reads (values of two or more words). The data type is then decided by the
   in-memory rules (:mod:`._pdp_grid`) from these counts, and the grid built from them: the
   bucket centres of ``[min, max]`` or the sorted categories. At most ``MAX_CATEGORIES``
   distinct values are kept per column; a column whose type or grid needs more is refused
   with the count found, never approximated.
2. **Averages.** For each chunk and feature, every row with the feature set to each grid value
   goes to the model; each grid value's scores are summed over the rows in row order
   (:func:`~clarify_engine.explain._aggregate.ordered_sum`, one addition at a time, the running
   total carried from chunk to chunk) and divided by the row count at the end, so the result
   does not depend on ``chunk_rows``. The same pass counts the numerical buckets.

The in-memory job (:func:`~clarify_engine.explain.partial_dependence`) sums in the same order,
so the averages are the in-memory job's bit for bit, whatever the chunk size (when the model
answers a row the same whatever rows share its request).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine._column_types import UNIQUENESS_THRESHOLD, is_float, is_int, is_text
from clarify_engine.errors import NotSupportedError
from clarify_engine.explain._aggregate import ordered_sum
from clarify_engine.explain._pdp import choose_features, partial_dependence
from clarify_engine.explain._pdp_grid import (
    CATEGORICAL, FREE_TEXT, NUMERICAL, UNSUPPORTED_MESSAGE, Grid, _json_scalar, _sort_key,
)
from clarify_engine.explain._results import PdpCurve, PdpResult
from clarify_engine.explain._scoring import Scorer, as_scorer
from clarify_engine.explain._spec import PdpSpec

__all__ = ["MAX_CATEGORIES", "stream_pdp"]

log = logging.getLogger(__name__)

#: Distinct values kept per PDP column in the profile pass.
MAX_CATEGORIES = 1 << 16


def _dtype_class(dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if is_float(dtype):
        return "float"
    if is_int(dtype):
        return "int"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if is_text(dtype):
        return "text"
    return "other"


@dataclass
class _Profile:
    """One column's summary from the profile pass."""

    name: str
    max_categories: int
    classes: list = field(default_factory=list)
    dtype: Any = None
    missing: int = 0
    present: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    finite: int = 0
    counts: dict = field(default_factory=dict)
    overflow: bool = False
    non_bool: int = 0
    non_str: int = 0
    words: int = 0

    def add(self, series: pd.Series) -> None:
        cls = _dtype_class(series.dtype)
        if cls not in self.classes:
            self.classes.append(cls)
        self.dtype = series.dtype
        isna = series.isna().to_numpy(dtype=bool)
        self.missing += int(isna.sum())
        present = series[~isna]
        self.present += len(present)
        if cls in ("float", "int"):
            values = present.to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            if len(finite):
                self.lo, self.hi = min(self.lo, float(finite.min())), max(self.hi, float(finite.max()))
                self.finite += len(finite)
        if cls == "float" or self.overflow:
            return
        if cls == "text":
            objects = present.to_numpy(dtype=object)
            self.non_bool += sum(not isinstance(v, (bool, np.bool_)) for v in objects)
            texts = [v for v in objects if isinstance(v, str)]
            self.non_str += len(objects) - len(texts)
            self.words += sum(len(v.split()) >= 2 for v in texts)
        codes, uniques = pd.factorize(present, sort=False)
        counts = np.bincount(codes, minlength=len(uniques))
        for value, count in zip(uniques, counts):
            self.counts[value] = self.counts.get(value, 0) + int(count)
        if len(self.counts) > self.max_categories:
            self.overflow, self.counts = True, {}

    def kind(self) -> str:
        """The PDP data type (``pdp_kind``'s rules, from the counts)."""
        classes = set(self.classes)
        if classes <= {"int", "float"}:
            cls = "float" if "float" in classes else "int"
        elif len(classes) == 1:
            cls = self.classes[0]
        else:
            cls = "text"
        if cls == "categorical":
            return CATEGORICAL
        if cls == "float":
            return NUMERICAL
        if cls == "int":
            if self.present == 0:
                return CATEGORICAL
            if self.overflow:
                if (self.max_categories + 1) / self.present >= UNIQUENESS_THRESHOLD:
                    return NUMERICAL
                raise self._too_many("decide whether it is numerical (distinct values >= 5 % of the rows)")
            return NUMERICAL if len(self.counts) / self.present >= UNIQUENESS_THRESHOLD else CATEGORICAL
        if cls == "text":
            if self.present and self.non_bool == 0:
                return CATEGORICAL
            if self.present and self.non_str == 0 and 2 * self.words >= self.present:
                distinct_half = (2 * (self.max_categories + 1) > self.present if self.overflow
                                 else 2 * len(self.counts) > self.present)
                if distinct_half:
                    return FREE_TEXT
                if self.overflow:
                    raise self._too_many("decide whether it is free text")
            if self.overflow:
                raise self._too_many("list its categories")
            return CATEGORICAL
        return cls if cls in ("datetime", "timedelta") else "other"

    def _too_many(self, what: str) -> NotSupportedError:
        return NotSupportedError(
            f"methods.pdp: column {self.name!r} has more than {self.max_categories} distinct values in "
            f"{self.present} rows; the streamed PDP needs them all to {what}. Run without --chunk-rows "
            "(chunk_rows=None), or bin the column first")

    def grid(self, kind: str, grid_resolution: int) -> Grid:
        """The grid, as :func:`~clarify_engine.explain._pdp_grid.column_grid` builds it (numerical
        distribution counted in the second pass)."""
        if kind == NUMERICAL:
            if self.finite == 0:
                raise ValueError(f"Column {self.name!r} has no finite numerical value; PDP needs at least one")
            if self.lo == self.hi:
                centres = np.array([self.lo])
            else:
                edges = np.linspace(self.lo, self.hi, grid_resolution + 1)
                centres = (edges[:-1] + edges[1:]) / 2.0
            return Grid(NUMERICAL, [float(c) for c in centres], [], pd.Series(centres, dtype=np.float64,
                                                                              name=self.name), self.missing)
        if kind == CATEGORICAL:
            if self.present == 0:
                raise ValueError(f"Column {self.name!r} has only missing values; PDP needs at least one value")
            values = list(self.counts)
            plain = [_json_scalar(v) for v in values]
            order = sorted(range(len(values)), key=lambda i: _sort_key(plain[i]))
            try:
                column = pd.Series([values[i] for i in order], dtype=self.dtype, name=self.name)
            except (TypeError, ValueError):
                column = pd.Series([values[i] for i in order], dtype=object, name=self.name)
            counts = [self.counts[values[i]] for i in order]
            total = sum(counts)
            return Grid(CATEGORICAL, [plain[i] for i in order], [float(c / total) for c in counts], column,
                        self.missing)
        raise ValueError(UNSUPPORTED_MESSAGE)

    def edges(self, grid_resolution: int) -> np.ndarray | None:
        """Inner bucket edges of a numerical grid of more than one value."""
        if self.lo == self.hi:
            return None
        return np.linspace(self.lo, self.hi, grid_resolution + 1)[1:-1]


def stream_pdp(data: Callable[[], Iterable[pd.DataFrame]], features: list[str], spec: PdpSpec, scorer: Scorer, *,
               ranking: Any = None, max_rows_per_call: int = 100_000,
               max_categories: int = MAX_CATEGORIES) -> PdpResult:
    """Partial dependence of the model on each feature ``spec`` asks for, from chunks (module notes).

    Parameters
    ----------
    data : callable
        ``data()`` starts a pass: an iterable of frames with the model inputs ``features`` (model order).
    features : list of str
        The model inputs, in model order.
    spec : PdpSpec
    scorer : Scorer or callable
    ranking : ShapResult or StreamedShap, optional
        Ranks the features when ``spec.features`` is None (top ``top_k_features``).
    max_rows_per_call : int, default 100000
    max_categories : int, default MAX_CATEGORIES
        Distinct values kept per column in the profile pass.

    Returns
    -------
    PdpResult
        As :func:`~clarify_engine.explain.run_pdp` gives for the whole dataset.

    Raises
    ------
    ConfigError
        Neither ``spec.features`` nor a ranking.
    NotSupportedError
        A column whose type or grid needs more than ``max_categories`` distinct values.
    """
    scorer = as_scorer(scorer)
    started = time.perf_counter()
    chosen, selection = choose_features(spec, features, ranking)
    profiles = {name: _Profile(name, max_categories) for name in chosen}
    n = 0
    for chunk in data():
        _stop.check()
        n += len(chunk)
        for name, profile in profiles.items():
            profile.add(chunk[name])
    grids: dict[str, Grid] = {}
    failed: dict[str, tuple[str, str]] = {}
    for name, profile in profiles.items():
        kind = profile.kind()
        try:
            grids[name] = profile.grid(kind, spec.grid_resolution)
        except ValueError as exc:
            failed[name] = (kind, str(exc))
    if n == 0:
        for name, grid in grids.items():
            failed[name] = (grid.data_type, "The dataset has no records to average the model's predictions over")
        grids = {}
    log.info("PDP (streamed): %d features (%s), %d records, grid_resolution=%d; %d model rows will be sent",
             len(chosen), selection["source"], n, spec.grid_resolution,
             sum(len(g.values) for g in grids.values()) * n)

    sums: dict[str, np.ndarray] = {}
    buckets = {name: np.zeros(len(grid.values), dtype=np.int64) for name, grid in grids.items()
               if grid.data_type == NUMERICAL}
    edges = {name: profiles[name].edges(spec.grid_resolution) for name in buckets}
    if grids:
        for chunk in data():
            _stop.check()
            if len(chunk) == 0:
                continue
            records = chunk.loc[:, features].reset_index(drop=True)
            for name, grid in grids.items():
                scores = partial_dependence(records, name, grid.column, scorer, max_rows_per_call=max_rows_per_call,
                                            kind="individual")  # (rows, D, g)
                sums[name] = ordered_sum(scores, sums.get(name))
                if name in buckets:
                    values = records[name]
                    values = values[values.notna()].to_numpy(dtype=np.float64)
                    inner = edges[name]
                    if inner is None:
                        buckets[name][0] += len(values)
                    else:
                        buckets[name] += np.bincount(np.searchsorted(inner, values, side="left"),
                                                     minlength=len(grid.values))
    curves = []
    width = None
    for name in chosen:
        if name in failed:
            curves.append(PdpCurve(name, failed[name][0], error=failed[name][1]))
            continue
        grid = grids[name]
        average = sums[name] / n
        width = average.shape[0]
        distribution = grid.distribution
        if name in buckets:
            distribution = [float(s) for s in buckets[name] / buckets[name].sum()]
        curves.append(PdpCurve(name, grid.data_type, values=list(grid.values), distribution=list(distribution),
                               predictions=average, individual=None, missing=grid.missing))
    return PdpResult(curves=tuple(curves), labels=None if width is None else tuple(scorer.labels(width)),
                     selection=selection, records=int(n), grid_resolution=spec.grid_resolution,
                     max_rows_per_call=int(max_rows_per_call), seconds=round(time.perf_counter() - started, 3))
