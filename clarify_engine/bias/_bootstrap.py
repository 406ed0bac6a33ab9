"""Bootstrap confidence intervals of the count metrics, resampled on the count tables.

Resampling ``n`` rows with replacement puts a multinomial number of copies of the rows in
each cell of a count table: the replicate's table is ``Multinomial(n, counts / n)`` over the
cells, which is drawn directly, without touching a row. With ``weights="poisson"`` each row
gets a Poisson(1) weight, so each cell is ``Poisson(count)`` independently (the replicate's
size varies; the usual choice when the data arrive in chunks). Either way the replicate is
exactly the table a row-level bootstrap would count, for the price of drawing ``n_cells``
numbers. The metrics of all replicates are computed at once on the stacked tables
(:mod:`clarify_engine.bias._batch_metrics`).

The interval is the percentile interval of the replicates' metric values. A replicate where
the metric cannot be computed (an empty resampled group) or is infinite is left out and
counted in ``failed``; with more than half of them failed there is no interval. The Flip Test
reads feature rows, not counts, and has no interval.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clarify_engine.bias._batch_metrics import BATCH_METRICS
from clarify_engine.bias._grouped import BiasResult, FacetEntry, count_metric
from clarify_engine.bias._table import FacetCounts

__all__ = ["BootstrapSpec", "MetricInterval", "replicate_counts", "replicate_tables", "with_intervals"]

WEIGHTS = ("multinomial", "poisson")


@dataclass(frozen=True)
class BootstrapSpec:
    """How intervals are computed.

    Parameters
    ----------
    n_boot : int
        Replicates (default 200).
    level : float
        Nominal coverage in (0, 1) (default 0.95).
    seed : int
        Seed of the replicate draws; the same seed gives the same intervals.
    weights : {"multinomial", "poisson"}
        Row weights the replicates stand for (module docstring).
    """

    n_boot: int = 200
    level: float = 0.95
    seed: int = 0
    weights: str = "multinomial"

    def __post_init__(self):
        if not isinstance(self.n_boot, int) or self.n_boot < 2:
            raise ValueError(f"n_boot must be an integer >= 2; found {self.n_boot!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.95); found {self.level!r}")
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}; found {self.weights!r}")


@dataclass(frozen=True)
class MetricInterval:
    """A percentile bootstrap interval; ``lower``/``upper`` None when too many replicates failed."""

    lower: float | None
    upper: float | None
    level: float
    n_boot: int
    failed: int
    error: str | None = None


def replicate_tables(counts: FacetCounts, spec: BootstrapSpec, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``spec.n_boot`` resampled copies of ``counts`` as stacked ``(d, a)``, each ``(n_boot, *d.shape)``."""
    cells = np.concatenate([counts.d.ravel(), counts.a.ravel()]).astype(np.int64)
    n = int(cells.sum())
    if spec.weights == "poisson":
        draws = rng.poisson(cells, size=(spec.n_boot, cells.size))
    else:
        draws = rng.multinomial(n, cells / n, size=spec.n_boot) if n else np.zeros((spec.n_boot, cells.size), np.int64)
    draws = draws.astype(np.int64)
    k = counts.d.size
    return (draws[:, :k].reshape(spec.n_boot, *counts.d.shape), draws[:, k:].reshape(spec.n_boot, *counts.a.shape))


def replicate_counts(counts: FacetCounts, spec: BootstrapSpec, rng: np.random.Generator) -> list[FacetCounts]:
    """``spec.n_boot`` resampled copies of ``counts`` (module docstring), one table each."""
    d, a = replicate_tables(counts, spec, rng)
    return [FacetCounts(d=d[b], a=a[b], has_groups=counts.has_groups) for b in range(spec.n_boot)]


def _interval(values, spec: BootstrapSpec) -> MetricInterval:
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    finite = values[np.isfinite(values)]
    failed = len(values) - finite.size
    if finite.size * 2 < len(values):
        return MetricInterval(None, None, spec.level, spec.n_boot, failed,
                              f"the metric failed or was infinite in {failed} of {spec.n_boot} replicates")
    alpha = (1 - spec.level) / 2
    lower, upper = np.quantile(finite, [alpha, 1 - alpha])
    return MetricInterval(float(lower), float(upper), spec.level, spec.n_boot, failed)


def _value(fn, counts: FacetCounts) -> float | None:
    try:
        return float(fn(counts))
    except Exception:  # noqa: BLE001 - a failed replicate is counted, not raised
        return None


def entry_intervals(entry: FacetEntry, spec: BootstrapSpec, rng: np.random.Generator) -> FacetEntry:
    """``entry`` with an interval on every metric that has a value and is computed from counts."""
    wanted = [m for m in entry.metrics if m.value is not None and m.name != "FT"]
    if entry.counts is None or not wanted:
        return entry
    d, a = replicate_tables(entry.counts, spec, rng)
    intervals = {}
    for m in wanted:
        batch = BATCH_METRICS.get(m.name)
        if batch is not None:
            values = batch(d, a, entry.counts.has_groups)
        else:  # a metric without a batch twin: one table at a time
            values = [_value(count_metric(m.name), FacetCounts(d[b], a[b], entry.counts.has_groups))
                      for b in range(spec.n_boot)]
        intervals[m.name] = _interval(values, spec)
    return replace(entry, metrics=tuple(replace(m, interval=intervals.get(m.name)) for m in entry.metrics))


def with_intervals(result: BiasResult, spec: BootstrapSpec, stream: int = 0) -> BiasResult:
    """``result`` with bootstrap intervals on its count metrics.

    Parameters
    ----------
    result : BiasResult
    spec : BootstrapSpec
    stream : int
        Distinguishes the draws of several results under one seed (e.g. one per segment).
    """
    rng = np.random.default_rng([spec.seed, stream])
    facets = tuple((name, tuple(entry_intervals(e, spec, rng) for e in entries)) for name, entries in result.facets)
    return replace(result, facets=facets)
