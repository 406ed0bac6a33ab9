"""Kernel SHAP over records read chunk by chunk: :func:`stream_shap`, never holding the dataset.

The records go through the core in *shards*: the rows of the chunks gathered until a shard
holds a whole number of the core's blocks (:func:`~clarify_engine.explain._kernel_shap.block_records`,
the rule the Dask executor cuts its shards by), so every block, every model call and every
regression is the one a job holding every record makes, whatever ``chunk_rows`` is. Each
shard's local values go to a sink (``explanations_shap/out.csv``, appended in row order) and
are dropped; the global values are running sums in row order
(:func:`~clarify_engine.explain._aggregate.ordered_sum`), so they have the bits of the
in-memory aggregation. ``median`` keeps the local values in a temporary file and selects the
middle ones exactly (:mod:`._stream_median`).

The baseline is the config's (typed by the first chunk's columns) or a k-means / k-prototypes
baseline fitted on a bounded sample: :func:`reservoir_sample` keeps ``SAMPLE_ROWS`` rows
(Algorithm R, seeded), in row order, so when the dataset has at most that many rows the sample
is the dataset and the baseline is the in-memory job's. Otherwise its weights count the
sample's rows, not the dataset's (``docs/scale.md``, "Streamed explanations").
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Protocol

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine.errors import DataError
from clarify_engine.explain._aggregate import ordered_sum
from clarify_engine.explain._baseline import FIT_ROWS, cluster_baseline, given_baseline
from clarify_engine.explain._coalitions import coalition_plan, determining_budget
from clarify_engine.explain._kernel_shap import block_records, default_num_samples
from clarify_engine.explain._results import ShapSummary
from clarify_engine.explain._scoring import Scorer, as_scorer
from clarify_engine.explain._shap_job import _is_categorical_frame, explain_records
from clarify_engine.explain._spec import ShapSpec
from clarify_engine.explain._stream_median import MedianSpill

__all__ = ["SAMPLE_ROWS", "LocalSink", "StreamedShap", "reservoir_sample", "shard_rows", "stream_shap"]

log = logging.getLogger(__name__)

#: Rows the streamed k-means baseline is fitted on: the in-memory fit's own sample size, so a
#: dataset the in-memory job would fit whole is sampled whole.
SAMPLE_ROWS = FIT_ROWS


class LocalSink(Protocol):
    """Where a shard's local values go as soon as it is explained (row order)."""

    def append(self, values: np.ndarray, standard_errors: np.ndarray, features: tuple[str, ...],
               labels: tuple[str, ...], record_ids: pd.Series | None) -> None: ...


def reservoir_sample(chunks: Iterable[pd.DataFrame], size: int, seed: int | None) -> tuple[pd.DataFrame, int]:
    """A uniform sample of at most ``size`` rows of the chunks, in row order (Algorithm R).

    Row ``i`` (0-based over the whole dataset) with ``i >= size`` replaces slot
    ``floor(u_i * (i + 1))`` when that is below ``size``, ``u_i`` the ``i - size``-th draw of
    ``numpy.random.default_rng(seed).random()``: one draw per row, in row order, so the sample
    does not depend on the chunk sizes. A dataset of at most ``size`` rows is its own sample.

    Returns
    -------
    sample : pandas.DataFrame
        The sampled rows in row order, 0-based index.
    rows : int
        Rows of the dataset.
    """
    rng = np.random.default_rng(0 if seed is None else int(seed))
    held: list[pd.DataFrame] = []
    ids = np.empty(0, dtype=np.int64)  # the row number held in each slot
    slots: pd.DataFrame | None = None
    seen = 0
    empty = pd.DataFrame()
    for chunk in chunks:
        _stop.check()
        chunk = chunk.reset_index(drop=True)
        empty = chunk.iloc[:0]
        n = len(chunk)
        fill = min(max(size - seen, 0), n)
        if fill:
            held.append(chunk.iloc[:fill])
            ids = np.concatenate([ids, np.arange(seen, seen + fill)])
        rest = n - fill
        if rest:
            if slots is None:
                slots = pd.concat(held, ignore_index=True) if held else chunk.iloc[:0]
                held = []
            rows = np.arange(seen + fill, seen + n)
            slot = np.floor(rng.random(rest) * (rows + 1)).astype(np.int64)
            take = slot < size
            # a later row of the chunk taking the same slot wins, as one row at a time would
            chosen_slot, last = np.unique(slot[take][::-1], return_index=True)
            local = (np.flatnonzero(take)[::-1])[last] + fill
            replaced = slots.drop(index=chosen_slot)
            incoming = chunk.iloc[local].set_axis(chosen_slot)
            slots = pd.concat([replaced, incoming]).sort_index()
            ids[chosen_slot] = local + seen
        seen += n
    if slots is None:
        frame = pd.concat(held, ignore_index=True) if held else empty
        return frame, seen
    order = np.argsort(ids, kind="stable")
    return slots.iloc[order].reset_index(drop=True), seen


def shard_rows(chunk_rows: int, block: int) -> int:
    """Rows of a shard: the largest multiple of ``block`` within ``chunk_rows``, at least one block."""
    return max(block, chunk_rows // block * block)


def _shards(chunks: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The chunks' rows regrouped in shards of ``size`` rows (the last one shorter)."""
    held: list[pd.DataFrame] = []
    count = 0
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        held.append(chunk)
        count += len(chunk)
        while count >= size:
            whole = pd.concat(held, ignore_index=True) if len(held) > 1 else held[0].reset_index(drop=True)
            yield whole.iloc[:size]
            rest = whole.iloc[size:]
            held, count = ([rest] if len(rest) else []), len(rest)
    if held:
        yield pd.concat(held, ignore_index=True) if len(held) > 1 else held[0].reset_index(drop=True)


@dataclass(frozen=True)
class CoreSummary:
    """What the manifest reads of the core: the method and its plan, over every shard."""

    method: str
    n_coalitions: int
    exact: bool
    regression_adjusted: bool
    determined: bool
    expected_value: np.ndarray


@dataclass(frozen=True)
class StreamedShap(ShapSummary):
    """The global result of a streamed SHAP stage (the local values went to the sink).

    Has the attributes the writers of :class:`~clarify_engine.explain.ShapResult` read
    (``features``, ``labels``, ``global_values``, ``expected_value``, ``core``, ``records``,
    ``baseline``...), plus the summaries of the local standard errors (M, D).
    """

    core: CoreSummary
    mean_local_standard_error: np.ndarray
    max_local_standard_error: np.ndarray
    records: int
    shards: int
    sample_rows: int | None
    seconds: dict = field(default_factory=dict)
    method_reason: str | None = None


class _Sums:
    """Running sums, in row order, of what the global values and standard errors need."""

    def __init__(self, method: str):
        self.method = method
        self.n = 0
        self.values: np.ndarray | None = None
        self.errors: np.ndarray | None = None
        self.local_errors: np.ndarray | None = None
        self.most: np.ndarray | None = None

    def add(self, values: np.ndarray, se: np.ndarray) -> None:
        if self.method != "median":  # the median is selected from the spill file (MedianSpill)
            if self.method == "mean_abs":
                v, e = np.abs(values), np.square(se)
            else:
                v, e = np.square(values), np.square(2.0 * values * se)
            self.values = ordered_sum(v, self.values)
            self.errors = ordered_sum(e, self.errors)
        self.local_errors = ordered_sum(se, self.local_errors)
        top = se.max(axis=0)
        self.most = top if self.most is None else np.maximum(self.most, top)
        self.n += values.shape[0]


def _first(data: Callable[[], Iterable[pd.DataFrame]]) -> pd.DataFrame:
    """The first chunk of a pass (the pass is then closed)."""
    chunks = iter(data())
    try:
        return next(chunks)
    except StopIteration:
        return pd.DataFrame()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _baseline(spec: ShapSpec, data: Callable[[], Iterable[pd.DataFrame]], features: list[str], base_dir: Any,
              sample_rows: int) -> tuple[pd.DataFrame | None, np.ndarray | None, str, int | None]:
    """(baseline, weights, source, rows sampled) when it is computed before the SHAP pass; a given
    baseline is typed on the first chunk later (None here)."""
    if spec.baseline.given is not None or spec.baseline.location is not None:
        return None, None, spec.baseline.source, None
    sample, rows = reservoir_sample((chunk.loc[:, features] for chunk in data()), sample_rows, spec.seed)
    if rows == 0:
        raise DataError("methods.shap: cannot compute a baseline from an empty dataset")
    log.info("SHAP baseline: fitted on %d of %d rows (reservoir sample, seed %s)", len(sample), rows, spec.seed)
    baseline, weights = cluster_baseline(sample, spec.baseline.num_clusters, spec.seed)
    source = "k-prototypes" if _is_categorical_frame(sample) else "k-means"
    return baseline, weights, source, len(sample)


def stream_shap(data: Callable[[], Iterable[pd.DataFrame]], spec: ShapSpec, scorer: Scorer, *, chunk_rows: int,
                sink: LocalSink | None = None, id_column: str | None = None, model: Any = None, workers: int = 1,
                base_dir: Any = None, max_rows_per_call: int = 100_000,
                sample_rows: int = SAMPLE_ROWS) -> StreamedShap:
    """Explain every record of ``data`` shard by shard (module notes).

    Parameters
    ----------
    data : callable
        ``data()`` starts a pass: an iterable of frames holding ``spec.features`` (and
        ``id_column``), in row order.
    spec : ShapSpec
        As for :func:`~clarify_engine.explain.run_shap`.
    scorer : Scorer or callable
    chunk_rows : int
        Rows per chunk of ``data``: a shard holds the largest whole number of blocks within it.
    sink : LocalSink, optional
        Receives each shard's local values and standard errors (None: they are dropped).
    id_column : str, optional
        The joinsource column, given to the sink with each shard.
    model, workers, base_dir, max_rows_per_call
        As for :func:`~clarify_engine.explain.run_shap`.
    sample_rows : int, default SAMPLE_ROWS
        Rows of the reservoir sample a k-means baseline is fitted on.

    Returns
    -------
    StreamedShap

    Raises
    ------
    ConfigError, DataError, ModelError
        As :func:`~clarify_engine.explain.run_shap`.
    """
    scorer = as_scorer(scorer)
    features = list(spec.features)
    started = time.perf_counter()
    baseline, weights, source, sampled = _baseline(spec, data, features, base_dir, sample_rows)
    baseline_seconds = time.perf_counter() - started
    m = len(spec.explain)
    default_budget = default_num_samples(m) if m >= 2 else None
    n_plan = 0
    if m >= 2:
        n_plan = coalition_plan(m, spec.num_samples if spec.num_samples is not None else default_budget,
                                spec.seed).masks.shape[0]

    started = time.perf_counter()
    sums = _Sums(spec.agg_method)
    shards = 0
    first: Any = None
    labels: tuple[str, ...] = ()
    determined = True
    if baseline is None:  # a given baseline, typed like the dataset's columns (its first chunk's)
        baseline = given_baseline(spec.baseline, features, _first(data).loc[:, features], base_dir=base_dir)
        weights = np.ones(len(baseline))
    assert weights is not None
    block = block_records(n_plan, len(baseline), max_rows_per_call)
    size = shard_rows(chunk_rows, block)
    log.info("Streamed SHAP: shards of %d records (%d block(s) of %d)", size, size // block, block)
    note = None
    stack = contextlib.ExitStack()
    spill = stack.enter_context(MedianSpill()) if spec.agg_method == "median" else None
    with stack:
        for shard in _shards(data(), size):  # size: a whole number of blocks
            _stop.check()
            core, reason, shard_note = explain_records(shard.loc[:, features], baseline, weights, spec, scorer,
                                                       source=source, model=model, workers=workers,
                                                       max_rows_per_call=max_rows_per_call, kernel=None,
                                                       announce=shards == 0)
            if shards == 0:
                first = (core, reason)
                note = shard_note
                labels = tuple(scorer.labels(core.values.shape[2]))
            determined = determined and bool(core.determined)
            sums.add(core.values, core.standard_errors)
            if spill is not None:
                spill.append(core.values, core.standard_errors)
            if sink is not None:
                ids = None if id_column is None else shard[id_column].reset_index(drop=True)
                sink.append(core.values, core.standard_errors, tuple(spec.explained), labels, ids)
            shards += 1
            log.info("Streamed SHAP: %d records explained (%d shard(s))", sums.n, shards)
        if first is None:
            raise DataError("methods.shap: the dataset has no records to explain")
        if spill is not None:
            global_values, global_errors = spill.median()
        else:
            assert sums.values is not None and sums.errors is not None
            global_values, global_errors = sums.values / sums.n, np.sqrt(sums.errors) / sums.n
    shap_seconds = time.perf_counter() - started
    core, reason = first
    n = sums.n
    assert sums.local_errors is not None and sums.most is not None
    summary = CoreSummary(method=core.method, n_coalitions=int(core.n_coalitions), exact=bool(core.exact),
                          regression_adjusted=bool(core.regression_adjusted), determined=determined,
                          expected_value=core.expected_value)
    return StreamedShap(
        features=tuple(spec.explained), labels=labels, core=summary,
        global_values=global_values, global_standard_errors=global_errors,
        mean_local_standard_error=sums.local_errors / n, max_local_standard_error=sums.most,
        agg_method=spec.agg_method, link=spec.link, seed=spec.seed,
        num_samples=spec.num_samples if spec.num_samples is not None else default_budget, budget_note=note,
        budget_to_determine_every_value=determining_budget(m) if m >= 2 else 0,
        baseline=baseline, baseline_weights=np.asarray(weights, dtype=np.float64), baseline_source=source,
        records=n, shards=shards, sample_rows=sampled,
        seconds={"baseline": round(baseline_seconds, 3), "kernel_shap": round(shap_seconds, 3)},
        method_reason=reason,
    )
