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
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.explain._pdp_grid import column_grid, data_type

__all__ = ["resolve_pdp_features", "run_pdp", "top_k_by_shap", "partial_dependence"]

log = logging.getLogger("clarify_engine")


def _get(obj, key, default=None):
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if value is None else value


def _pdp_config(config):
    methods = _get(config, "methods")
    pdp = _get(methods, "pdp") if methods is not None else None
    if pdp is None:
        raise ConfigError("methods.pdp", "expected a pdp section, found none")
    return pdp


def resolve_pdp_features(entries: Sequence[Any], features: Sequence[str]) -> list[str]:
    """Names of ``methods.pdp.features``, in the order given.

    Parameters
    ----------
    entries : sequence of str or int
        Names, or 0-based indices into the model-input ``features``.
    features : sequence of str
        The model-input features (``dataset.features``), in model order.

    Raises
    ------
    ConfigError
        An entry that is neither a name nor an int, an unknown name, an index out of range,
        a feature listed twice.
    """
    features = list(features)
    chosen: list[str] = []
    for i, entry in enumerate(entries):
        path = f"methods.pdp.features[{i}]"
        if isinstance(entry, bool) or not isinstance(entry, (str, int, np.integer)):
            raise ConfigError(path, f"expected a feature name or index, found {entry!r}")
        if isinstance(entry, str):
            if entry not in features:
                raise ConfigError(path, f"expected one of the model-input features {features}, found {entry!r} "
                                        "(label, predicted label, join key and excluded columns are not model inputs)")
            name = entry
        else:
            index = int(entry)
            if not 0 <= index < len(features):
                raise ConfigError(path, f"expected an index into the {len(features)} model-input features "
                                        f"(0..{len(features) - 1}), found {index}")
            name = features[index]
        if name in chosen:
            raise ConfigError(path, f"feature {name!r} is listed twice")
        chosen.append(name)
    return chosen


def top_k_by_shap(shap_section: Mapping, features: Sequence[str], k: int) -> tuple[list[str], dict[str, float]]:
    """The ``k`` features of largest global SHAP value, largest first.

    With several model outputs (labels) a feature's score is the sum over labels of the
    absolute global SHAP values (for ``mean_abs``/``mean_sq`` aggregation the values are
    already non-negative; ``median`` can be negative). Ties keep model-feature order.
    Features of the section that are not model inputs are ignored.

    Parameters
    ----------
    shap_section : mapping
        ``explanations.kernel_shap``: ``{label: {"global_shap_values": {feature: float}}}``.
    features : sequence of str
        Model-input features, in model order.
    k : int
        How many to keep (fewer when the section has fewer features).

    Returns
    -------
    chosen : list of str
    scores : dict
        ``{feature: score}`` for every ranked feature (for the run manifest).

    Raises
    ------
    ConfigError
        The section has no label with ``global_shap_values``.
    """
    scores: dict[str, float] = {}
    labels = 0
    for label, entry in (shap_section or {}).items():
        values = entry.get("global_shap_values") if isinstance(entry, Mapping) else None
        if not isinstance(values, Mapping):
            continue
        labels += 1
        for name, value in values.items():
            if name in features and value is not None and np.isfinite(float(value)):
                scores[name] = scores.get(name, 0.0) + abs(float(value))
    if labels == 0:
        raise ConfigError("methods.pdp.features",
                          "not given, so the top features by global SHAP are plotted; expected a kernel_shap "
                          "section with global_shap_values, found none")
    position = {name: i for i, name in enumerate(features)}
    ranked = sorted(scores, key=lambda name: (-scores[name], position[name]))
    return ranked[:k], scores


def _chunks(g: int, n: int, max_rows: int) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of the virtual (g·n)-row table, at most ``max_rows`` each.

    When a grid value's n rows fit in a call, chunks hold whole grid values (each grid
    value's average is then one numpy mean over its rows, as scikit-learn computes it);
    otherwise each grid value is cut into equal pieces.
    """
    if n <= max_rows:
        per = max(max_rows // n, 1)
        return [(j * n, min(j + per, g) * n) for j in range(0, g, per)]
    pieces = -(-n // max_rows)
    step = -(-n // pieces)
    return [(j * n + s, j * n + min(s + step, n)) for j in range(g) for s in range(0, n, step)]


class _Model:
    """Calls the predictor and keeps count of rows, calls, seconds and the first output."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.first_output = None
        self.n_scores = None
        self.rows_sent = 0
        self.calls = 0
        self.seconds = 0.0

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        from clarify_engine.predict import model_scores

        start = time.perf_counter()
        output = self.predictor.predict(frame)
        scores = np.asarray(model_scores(output), dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] != len(frame):
            raise ModelError(f"the model returned {scores.shape[0]} score rows for {len(frame)} records")
        if self.first_output is None:
            self.first_output, self.n_scores = output, scores.shape[1]
        elif scores.shape[1] != self.n_scores:
            raise ModelError(f"the model returned {scores.shape[1]} scores per record, but "
                             f"{self.n_scores} in an earlier call")
        self.rows_sent += len(frame)
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return scores


def partial_dependence(records: pd.DataFrame, feature: str, grid: pd.Series, score, *,
                       max_rows_per_call: int = 100_000) -> np.ndarray:
    """Average model scores with ``feature`` set to each grid value in every record.

    Parameters
    ----------
    records : pandas.DataFrame, shape (n, P)
        Model inputs, model column order.
    feature : str
        The column overwritten.
    grid : pandas.Series, shape (g,)
        Grid values, with the dtype the model should receive.
    score : callable
        ``score(frame (r, P)) -> ndarray (r, D)``.
    max_rows_per_call : int, default 100000
        Rows per ``score`` call.

    Returns
    -------
    numpy.ndarray of float64, shape (D, g)
        ``out[k, j]`` = mean over records of score k with ``feature`` = ``grid[j]``.
    """
    n, g = len(records), len(grid)
    if n == 0:
        raise ValueError("no records to average over")
    base = records.reset_index(drop=True)
    sums: np.ndarray | None = None
    means: dict[int, np.ndarray] = {}
    for start, stop in _chunks(g, n, max_rows_per_call):
        _stop.check()
        rows = np.arange(start, stop)
        record, point = rows % n, rows // n  # row r of the virtual table: record r mod n, grid value r div n
        frame = base.take(record).reset_index(drop=True)
        frame[feature] = grid.take(point).reset_index(drop=True)  # a Series keeps the grid's dtype
        scores = score(frame)  # (stop - start, D)
        if sums is None:
            sums = np.zeros((g, scores.shape[1]))
        if start % n == 0 and stop - start >= n and (stop - start) % n == 0:
            # whole grid values: a plain mean over each value's n rows
            first = start // n
            blocks = scores.reshape((stop - start) // n, n, scores.shape[1])
            for j, block in enumerate(blocks):
                means[first + j] = block.mean(axis=0)
        else:  # a piece of one grid value (n > max_rows_per_call)
            sums[point[0]] += scores.sum(axis=0)
    out = sums / n
    for j, mean in means.items():
        out[j] = mean
    return out.T


def run_pdp(config, dataset, predictor, *, shap_section: Mapping | None = None,
            max_rows_per_call: int = 100_000) -> tuple[list[dict], dict]:
    """Partial dependence of the model on each feature ``methods.pdp`` asks for.

    Parameters
    ----------
    config : AnalysisConfig or Mapping
        The analysis config; ``methods.pdp`` must be present (``grid_resolution``,
        ``features``, ``top_k_features``).
    dataset : Dataset
        ``dataset.frame[dataset.features]`` are the model inputs (model order).
    predictor : Predictor
        ``predict(frame) -> ModelOutput`` and ``label_headers``.
    shap_section : mapping, optional
        ``explanations.kernel_shap`` of this job; without ``methods.pdp.features`` the top
        ``top_k_features`` features by global SHAP are plotted (see :func:`top_k_by_shap`).
    max_rows_per_call : int, default 100000
        Most rows per ``predictor.predict`` call.

    Returns
    -------
    entries : list of dict
        ``explanations.pdp``: one entry per feature, in the order chosen, either
        ``{"feature_name", "data_type", "feature_values", "data_distribution",
        "model_predictions" (D lists of g floats), "label_headers" (D names)}`` or
        ``{"feature_name", "data_type", "error"}``.
    manifest : dict
        For ``run_manifest.json``: features and why they were chosen, per-feature grid size,
        data type and missing values, rows and calls sent, seconds.

    Raises
    ------
    ConfigError
        Bad ``features`` entries; neither ``features`` nor a SHAP section.
    ModelError
        The model's answers are not one score row per record, or change width.
    """
    from clarify_engine.predict import score_columns

    started = time.perf_counter()
    pdp_cfg = _pdp_config(config)
    grid_resolution = _get(pdp_cfg, "grid_resolution")
    if isinstance(grid_resolution, bool) or not isinstance(grid_resolution, (int, np.integer)) or grid_resolution < 1:
        raise ConfigError("methods.pdp.grid_resolution", f"expected an integer >= 1, found {grid_resolution!r}")
    grid_resolution = int(grid_resolution)
    features = list(dataset.features)
    configured = _get(pdp_cfg, "features")
    top_k = int(_get(pdp_cfg, "top_k_features", 10))
    if configured is not None:
        chosen = resolve_pdp_features(configured, features)
        selection = {"source": "methods.pdp.features"}
    elif shap_section is not None:
        chosen, shap_scores = top_k_by_shap(shap_section, features, top_k)
        selection = {"source": "top_k_features by global SHAP", "top_k_features": top_k,
                     "ranking": "sum over labels of |global SHAP value|",
                     "scores": {name: shap_scores[name] for name in chosen}}
    else:
        raise ConfigError("methods.pdp.features",
                          "required when no SHAP results are available to pick the top features from; "
                          "list the features to plot or request methods.shap")

    records = dataset.frame.loc[:, features]
    n = len(records)
    grids, entries_meta = {}, {}
    for name in chosen:
        kind = data_type(records[name])
        try:
            grids[name] = column_grid(records[name], grid_resolution, kind)
        except ValueError as exc:
            entries_meta[name] = {"data_type": kind, "error": str(exc)}
    total = sum(len(g.values) for g in grids.values()) * n
    log.info("PDP: %d features (%s), %d records, grid_resolution=%d; %d model rows (grid values x records) "
             "will be sent", len(chosen), selection["source"], n, grid_resolution, total)

    model = _Model(predictor)
    curves: dict[str, np.ndarray] = {}
    if n == 0:
        for name in grids:
            entries_meta[name] = {"data_type": grids[name].data_type, "error": "The dataset has no records to "
                                  "average the model's predictions over"}
    else:
        with Progress("PDP", len(grids), "features") as progress:  # one update per feature
            for name, grid in grids.items():
                curves[name] = partial_dependence(records, name, grid.column, model.scores,
                                                  max_rows_per_call=max_rows_per_call)
                progress.update()

    labels = None
    if model.first_output is not None:
        labels = score_columns(model.first_output, getattr(predictor, "label_headers", None))

    entries: list[dict] = []
    for name in chosen:
        if name in entries_meta:
            entries.append({"feature_name": name, "data_type": entries_meta[name]["data_type"],
                            "error": entries_meta[name]["error"]})
            continue
        grid, curve = grids[name], curves[name]
        entries.append({
            "feature_name": name,
            "data_type": grid.data_type,
            "feature_values": list(grid.values),
            "data_distribution": list(grid.distribution),
            "model_predictions": [[float(v) for v in row] for row in curve],
            "label_headers": list(labels),
        })

    manifest = {
        "features": chosen,
        "selection": selection,
        "records": int(n),
        "grid_resolution": grid_resolution,
        "per_feature": {
            name: ({"data_type": grids[name].data_type, "grid_size": len(grids[name].values),
                    "missing_values": grids[name].missing} if name not in entries_meta else
                   {"data_type": entries_meta[name]["data_type"], "error": entries_meta[name]["error"]})
            for name in chosen
        },
        "labels": labels,
        "model_rows_sent": int(model.rows_sent),
        "model_calls": int(model.calls),
        "max_rows_per_call": int(max_rows_per_call),
        "seconds": {"total": round(time.perf_counter() - started, 3), "model": round(model.seconds, 3)},
    }
    log.info("PDP: %d rows sent in %d model calls (%.1f s in the model)", model.rows_sent, model.calls, model.seconds)
    return entries, manifest

