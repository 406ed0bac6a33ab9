"""The partial-dependence job: ``methods.pdp`` to Clarify's ``explanations.pdp`` entries.

For each chosen feature: its data type and grid (:mod:`._pdp_grid`), then the brute-force
partial dependence (Friedman 2001, §8.2; scikit-learn's ``method="brute"``): for each grid
value, every record with that feature set to the value (all other features kept) goes to
the model, and the scores are averaged over the records.

The model is the cost (Σ over features of grid values × records rows). All grid values of a
feature are stacked into one virtual table of g·n rows that is cut into chunks of at most
``max_rows_per_call`` rows; a chunk is materialised only when it is sent, so the records
are never copied once per grid value, and few, large ``predictor.predict`` calls are made
(identical rows are then sent once by the batcher of a remote model).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.errors import ConfigError
from clarify_engine.explain._aggregate import ordered_sum
from clarify_engine.explain._pdp_grid import column_grid, data_type
from clarify_engine.explain._results import PdpCurve, PdpResult, ShapResult
from clarify_engine.explain._scoring import Scorer, as_scorer
from clarify_engine.explain._spec import PdpSpec

__all__ = ["choose_features", "partial_dependence", "run_pdp", "top_k_by_shap"]

log = logging.getLogger(__name__)


def top_k_by_shap(shap: ShapResult, features: Sequence[str], k: int) -> tuple[list[str], dict[str, float]]:
    """The ``k`` features of largest global SHAP value, largest first.

    With several model outputs (labels) a feature's score is the sum over labels of the
    absolute global SHAP values (for ``mean_abs``/``mean_sq`` aggregation the values are
    already non-negative; ``median`` can be negative). Ties keep model-feature order.
    Explained features that are not model inputs are ignored.

    Parameters
    ----------
    shap : ShapResult
        The job's Kernel SHAP result.
    features : sequence of str
        Model-input features, in model order.
    k : int
        How many to keep (fewer when fewer features were explained).

    Returns
    -------
    chosen : list of str
    scores : dict
        ``{feature: score}`` for every ranked feature (for the run manifest).
    """
    features = list(features)
    scores = shap.ranking(features)
    position = {name: i for i, name in enumerate(features)}
    ranked = sorted(scores, key=lambda name: (-scores[name], position[name]))
    return ranked[:k], scores


def choose_features(spec: PdpSpec, features: list[str], ranking: Any = None) -> tuple[list[str], dict[str, Any]]:
    """The features to plot (``spec.features``, or the top ``top_k_features`` of ``ranking``, a
    SHAP result with ``ranking(features)``) and the manifest's ``selection`` entry.

    Raises
    ------
    ConfigError
        Neither ``spec.features`` nor a ranking.
    """
    if spec.features is not None:
        return list(spec.features), {"source": "methods.pdp.features"}
    if ranking is None:
        raise ConfigError("methods.pdp.features",
                          "required when no SHAP results are available to pick the top features from; "
                          "list the features to plot or request methods.shap")
    chosen, shap_scores = top_k_by_shap(ranking, features, spec.top_k_features)
    return chosen, {"source": "top_k_features by global SHAP", "top_k_features": spec.top_k_features,
                    "ranking": "sum over labels of |global SHAP value|",
                    "scores": {name: shap_scores[name] for name in chosen}}


def _chunks(g: int, n: int, max_rows: int) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of the virtual (g·n)-row table, at most ``max_rows`` each.

    When a grid value's n rows fit in a call, chunks hold whole grid values; otherwise each
    grid value is cut into equal pieces. Either way a grid value's average is the sum of its
    scores in record order (:func:`~clarify_engine.explain._aggregate.ordered_sum`) over n.
    """
    if n <= max_rows:
        per = max(max_rows // n, 1)
        return [(j * n, min(j + per, g) * n) for j in range(0, g, per)]
    pieces = -(-n // max_rows)
    step = -(-n // pieces)
    return [(j * n + s, j * n + min(s + step, n)) for j in range(g) for s in range(0, n, step)]


def partial_dependence(records: pd.DataFrame, feature: str, grid: pd.Series, score, *,
                       max_rows_per_call: int = 100_000, kind: str = "average"):
    """Model scores with ``feature`` set to each grid value in every record: averaged
    (partial dependence), per record (ICE curves), or both.

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, P)
        Model inputs, model column order.
    feature : str
        The column overwritten.
    grid : pandas.Series, shape (g,)
        Grid values, with the dtype the model should receive.
    score : callable
        ``score(frame (r, P)) -> ndarray (r, D)`` or ``(r,)`` (one output).
    max_rows_per_call : int, default 100000
        Rows per ``score`` call.
    kind : {"average", "individual", "both"}, default "average"
        As scikit-learn's ``partial_dependence``: the mean over records, every record's
        curve (individual conditional expectation, Goldstein et al. 2015), or both.

    Returns
    -------
    numpy.ndarray of float64
        ``kind="average"``: shape (D, g), ``out[k, j]`` = mean over records of score k with
        ``feature`` = ``grid[j]``. ``kind="individual"``: shape (n, D, g). ``kind="both"``:
        the tuple ``(average, individual)``.

    Raises
    ------
    ValueError
        No records, or an unknown ``kind``.
    """
    if kind not in ("average", "individual", "both"):
        raise ValueError(f"partial_dependence: kind must be one of 'average', 'individual', 'both'; found {kind!r}")
    n, g = len(records), len(grid)
    if n == 0:
        raise ValueError("partial_dependence: no records to average over")
    keep = kind != "average"
    score = as_scorer(score)
    base = records.reset_index(drop=True)
    sums: np.ndarray | None = None
    individual: np.ndarray | None = None
    summed = np.zeros(g, dtype=bool)
    for start, stop in _chunks(g, n, max_rows_per_call):
        _stop.check()
        rows = np.arange(start, stop)
        record, point = rows % n, rows // n  # row r of the virtual table: record r mod n, grid value r div n
        frame = base.take(record).reset_index(drop=True)
        frame[feature] = grid.take(point).reset_index(drop=True)  # a Series keeps the grid's dtype
        scores = score(frame)  # (stop - start, D)
        if sums is None:
            sums = np.zeros((g, scores.shape[1]))
            if keep:
                individual = np.empty((n, scores.shape[1], g))
        if keep:
            individual[record, :, point] = scores
        # each grid value's scores summed in record order, one addition at a time (ordered_sum), so
        # the streamed PDP, which adds one chunk of records at a time, gets the same bits
        for j in range(int(point[0]), int(point[-1]) + 1):
            lo, hi = max(start, j * n) - start, min(stop, (j + 1) * n) - start
            sums[j] = ordered_sum(scores[lo:hi], sums[j] if summed[j] else None)
            summed[j] = True
    assert sums is not None
    out = sums / n
    if kind == "average":
        return out.T
    if kind == "individual":
        return individual
    return out.T, individual


def run_pdp(records: pd.DataFrame, spec: PdpSpec, scorer: Scorer, *, ranking: ShapResult | None = None,
            individual: bool = False, max_rows_per_call: int = 100_000) -> PdpResult:
    """Partial dependence of the model on each feature ``spec`` asks for.

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, P)
        The model inputs (model order).
    spec : PdpSpec
        Features (or top-k by SHAP), grid resolution.
    scorer : Scorer or callable
        ``scorer(frame (r, P)) -> ndarray (r, D)``; its ``labels(D)`` name the outputs.
    ranking : ShapResult, optional
        The job's Kernel SHAP result; without ``spec.features`` its top ``top_k_features``
        features are plotted (see :func:`top_k_by_shap`).
    individual : bool, default False
        Keep every record's curve (ICE) in :attr:`PdpCurve.individual`.
    max_rows_per_call : int, default 100000
        Most rows per ``scorer`` call.

    Returns
    -------
    PdpResult

    Raises
    ------
    ConfigError
        Neither ``spec.features`` nor a SHAP result to rank features by.
    ModelError
        The model's answers are not one score row per record, or change width.
    """
    scorer = as_scorer(scorer)
    started = time.perf_counter()
    chosen, selection = choose_features(spec, list(records.columns), ranking)

    n = len(records)
    grids, failed = {}, {}
    for name in chosen:
        kind = data_type(records[name])
        try:
            grids[name] = column_grid(records[name], spec.grid_resolution, kind)
        except ValueError as exc:
            failed[name] = (kind, str(exc))
    total = sum(len(g.values) for g in grids.values()) * n
    log.info("PDP: %d features (%s), %d records, grid_resolution=%d; %d model rows (grid values x records) "
             "will be sent", len(chosen), selection["source"], n, spec.grid_resolution, total)

    curves: dict[str, tuple] = {}
    width = None
    if n == 0:
        for name, grid in grids.items():
            failed[name] = (grid.data_type, "The dataset has no records to average the model's predictions over")
    else:
        with Progress("PDP", len(grids), "features") as progress:  # one update per feature
            for name, grid in grids.items():
                if individual:
                    curves[name] = partial_dependence(records, name, grid.column, scorer,
                                                      max_rows_per_call=max_rows_per_call, kind="both")
                else:
                    curves[name] = (partial_dependence(records, name, grid.column, scorer,
                                                       max_rows_per_call=max_rows_per_call), None)
                width = curves[name][0].shape[0]
                progress.update()

    result = []
    for name in chosen:
        if name in failed:
            result.append(PdpCurve(name, failed[name][0], error=failed[name][1]))
            continue
        grid = grids[name]
        average, ice = curves[name]
        result.append(PdpCurve(name, grid.data_type, values=list(grid.values), distribution=list(grid.distribution),
                               predictions=average, individual=ice, missing=grid.missing))
    return PdpResult(curves=tuple(result), labels=None if width is None else tuple(scorer.labels(width)),
                     selection=selection, records=int(n), grid_resolution=spec.grid_resolution,
                     max_rows_per_call=int(max_rows_per_call), seconds=round(time.perf_counter() - started, 3))
