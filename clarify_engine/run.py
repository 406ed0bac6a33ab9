"""One analysis job: config + dataset (+ model) -> results.

This module decides which of the requested methods can run, runs them, and gathers
their sections into Clarify's ``analysis.json`` shape. Methods this engine cannot run
yet are not silently dropped: each is recorded with its reason in
:attr:`AnalysisResult.not_run`, logged, and written to the run manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clarify_engine._version import __version__
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.config import AnalysisConfig, check_model_source
from clarify_engine.data import Dataset
from clarify_engine.errors import ConfigError, NotSupportedError
from clarify_engine.predict import ClientOptions, make_predictor
from clarify_engine.report import ReportRequest, report_request, write_job_report, write_outputs
from clarify_engine.report._shap_outputs import write_shap_outputs
from clarify_engine.explain import SE_SECTION_KEY, run_pdp, run_shap

log = logging.getLogger("clarify_engine")

#: Key of each bias stage in analysis.json, by the method that produces it.
BIAS_STAGES = (
    ("pre_training_bias", "pre_training", "pre_training_bias_metrics"),
    ("post_training_bias", "post_training", "post_training_bias_metrics"),
)

#: Methods (and top-level keys) this engine validates but does not compute yet, with the reason.
_NOT_YET = {
    "asymmetric_shapley_value": "time-series asymmetric Shapley values are not implemented yet",
}


@dataclass(frozen=True)
class NotRun:
    """A requested part of the analysis that was not computed, and why."""

    method: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"method": self.method, "reason": self.reason}


@dataclass
class AnalysisResult:
    """The outcome of one job.

    Attributes
    ----------
    analysis : dict
        The content of ``analysis.json`` (Clarify's keys only).
    not_run : list of NotRun
        Requested methods that were not computed, with reasons.
    manifest : dict
        What ran, on what, with which versions and timings (``run_manifest.json``).
    """

    analysis: dict[str, Any]
    not_run: list[NotRun] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: Tables written beside analysis.json: ``"shap"`` -> (local values, standard errors, baseline).
    files: dict[str, Any] = field(default_factory=dict)
    #: The report to write after analysis.json (``methods.report``), or None.
    report: ReportRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the ``analysis.json`` content."""
        return self.analysis

    def write(self, output_dir: str | Path) -> list[Path]:
        """Write ``analysis.json``, ``run_manifest.json``, ``explanations_shap/`` and the report into ``output_dir``.

        The report comes last: a failure to render it is logged and recorded in the manifest.
        """
        written = []
        if "shap" in self.files:
            written += write_shap_outputs(output_dir, *self.files["shap"])
        written += write_outputs(output_dir, self.analysis, self.manifest)
        if self.report is not None:
            local, _, baseline = self.files.get("shap", (None, None, None))
            written += write_job_report(output_dir, self.report, self.analysis, self.manifest, local, baseline)
        return written


def _bias_frame(dataset: Dataset):
    """The columns bias metrics see: features, facets, group variable, label, predicted label.

    The joinsource column and ``excluded_columns`` are left out, as they are for the model;
    the flip test (FT) uses every remaining column except the facet and the labels.
    """
    names: list[str] = list(dataset.features)
    for name, _ in dataset.facets:
        names.append(name)
    for extra in (dataset.group_variable, dataset.label, dataset.predicted_label):
        if extra is not None:
            names.append(extra)
    unique = list(dict.fromkeys(names))
    return dataset.frame.loc[:, unique]


def _unused_name(columns, name: str) -> str:
    """``name``, or ``name_1``, ``name_2``... when the frame already has such a column."""
    taken = set(map(str, columns))
    candidate, i = name, 0
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


def _predict_labels(dataset: Dataset, predictor, info: dict):
    """Predicted labels for every row of the dataset, from the model (contract §5)."""
    rows = dataset.frame.loc[:, list(dataset.features)]
    log.info("Getting predictions for %d rows (%d features) from %s", len(rows), rows.shape[1],
             predictor.description)
    output = predictor.predict(rows)
    labels = predictor.labels(output)
    if predictor.batcher is not None:
        info["requests"] = dataclasses.asdict(predictor.batcher.stats)
    return labels


def _requested(config: AnalysisConfig) -> list[str]:
    methods = config.methods
    names = [
        name
        for name in ("pre_training_bias", "post_training_bias", "shap", "pdp", "asymmetric_shapley_value")
        if getattr(methods, name, None) is not None
    ]
    return names


def plan(config: AnalysisConfig, dataset: Dataset, model: Any = None) -> tuple[list[str], list[NotRun]]:
    """Split the requested methods into those that will run and those that cannot, with reasons.

    Raises
    ------
    NotSupportedError
        Nothing requested can run.
    ConfigError
        Bias methods are requested but the config names no label or no facet, or predictions
        are needed and neither ``model`` nor the config's ``predictor`` names a model.
    """
    runnable: list[str] = []
    not_run: list[NotRun] = []
    if model is None:
        check_model_source(config)
    for name in _requested(config):
        if name in ("pre_training_bias", "post_training_bias"):
            if dataset.label is None:
                raise ConfigError("label", f"methods.{name} needs a label column; the config names none")
            if not dataset.facets:
                raise ConfigError("facet", f"methods.{name} needs at least one facet; the config names none")
            if config.label_values_or_threshold is None:
                raise ConfigError(
                    "label_values_or_threshold",
                    f"methods.{name} needs the positive label values or a threshold; the config gives none",
                )
        if name in _NOT_YET:
            not_run.append(NotRun(name, _NOT_YET[name]))
            continue
        if name == "shap" and (config.methods.shap.text_config or config.methods.shap.image_config):
            kind = "text" if config.methods.shap.text_config else "image"
            not_run.append(NotRun(name, f"Kernel SHAP for {kind} features (methods.shap.{kind}_config) is not "
                                        "implemented yet; no explanations were computed"))
            continue
        runnable.append(name)
    if "pdp" in runnable and config.methods.pdp.features is None and "shap" not in runnable:
        runnable.remove("pdp")
        not_run.append(NotRun("pdp", "methods.pdp lists no features and picks the top_k_features by global SHAP, "
                                     "but SHAP did not run; list methods.pdp.features to plot them"))
    if config.segment_config is not None:
        not_run.append(NotRun("segment_config", "per-segment bias is not implemented yet; metrics cover the whole dataset"))
    if not runnable:
        reasons = "; ".join(f"{n.method}: {n.reason}" for n in not_run) or "no method requested"
        raise NotSupportedError(f"none of the requested methods can run ({reasons})")
    return runnable, not_run


def _needs_model(runnable: list[str], dataset: Dataset) -> bool:
    return ("shap" in runnable or "pdp" in runnable
            or ("post_training_bias" in runnable and dataset.predicted_label is None))


def run_analysis(config: AnalysisConfig, dataset: Dataset, model: Any = None,
                 options: ClientOptions | None = None, *, base_dir: str | Path | None = None,
                 workers: int | None = None) -> AnalysisResult:
    """Run every runnable method of ``config`` on ``dataset``.

    Parameters
    ----------
    config : AnalysisConfig
        A validated configuration (:func:`clarify_engine.config.load_config`).
    dataset : Dataset
        The loaded dataset (:func:`clarify_engine.data.load_dataset`).
    model : object, optional
        A model to get predictions from instead of the config's ``predictor`` endpoint: an
        estimator, a callable, a model file path, or an ``http(s)://`` model-server URL.
    options : ClientOptions, optional
        Concurrency and payload limits of the model client.
    base_dir : str or path-like, optional
        Folder that relative paths in the config (a SHAP baseline file) are taken from.
    workers : int, optional
        Threads of the Kernel SHAP core (results do not depend on it); default: the CPU
        count, at most 4 (one builds synthetic rows while the model runs).

    Returns
    -------
    AnalysisResult

    Notes
    -----
    One predictor serves the whole job, so a shadow endpoint is created once, used for
    the predicted labels and the SHAP synthetic rows, and deleted at the end.
    """
    started = time.time()
    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    runnable, not_run = plan(config, dataset, model)
    for item in not_run:
        log.warning("Not run: %s: %s", item.method, item.reason)
    log.info("Dataset: %d rows, %d columns; methods to run: %s", len(dataset.frame), dataset.frame.shape[1], ", ".join(runnable))

    analysis: dict[str, Any] = {"version": "1.0"}
    timings: dict[str, float] = {}
    model_info: dict[str, Any] = {}
    extra_manifest: dict[str, Any] = {}
    files: dict[str, Any] = {}
    bias_frame = None
    predicted_label = dataset.predicted_label
    facets = [FacetSpec(name, None if values is None else list(values)) for name, values in dataset.facets]
    with contextlib.ExitStack() as stack:
        predictor = None
        if _needs_model(runnable, dataset):
            predictor = stack.enter_context(make_predictor(config, dataset.features, model, options))
            model_info["description"] = predictor.description
            log.info("Model: %s", predictor.description)
        for method, stage, key in BIAS_STAGES:
            if method not in runnable:
                continue
            if bias_frame is None:
                bias_frame = _bias_frame(dataset)
            if stage == "post_training" and predicted_label is None:
                t0 = time.perf_counter()
                predicted_label = _unused_name(bias_frame.columns, "predicted_label")
                bias_frame = bias_frame.assign(**{predicted_label: _predict_labels(dataset, predictor, model_info)})
                timings["predictions"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            metrics = getattr(config.methods, method).methods
            log.info("Computing %s metrics (%s) for facets %s", stage.replace("_", "-"), metrics, [f.name for f in facets])
            analysis[key] = bias_section(
                bias_frame,
                label=dataset.label,
                label_values=list(config.label_values_or_threshold),
                facets=facets,
                stage=stage,
                methods=metrics if isinstance(metrics, str) else list(metrics),
                predicted_label=predicted_label if stage == "post_training" else None,
                group_variable=dataset.group_variable,
            )
            timings[key] = time.perf_counter() - t0
            log.info("Finished %s in %.3f s", key, timings[key])
        if "shap" in runnable:
            t0 = time.perf_counter()
            section, local, extras = run_shap(config, dataset, predictor, workers=workers, base_dir=base_dir)
            explanations = analysis.setdefault("explanations", {})
            explanations["kernel_shap"] = section
            explanations[SE_SECTION_KEY] = extras["standard_error_section"]
            extra_manifest["kernel_shap"] = extras["manifest"]
            save_local = config.methods.shap.save_local_shap_values_or_default
            files["shap"] = (local if save_local else None, extras["standard_errors"] if save_local else None,
                             extras["baseline"])
            timings["kernel_shap"] = time.perf_counter() - t0
            log.info("Finished kernel_shap in %.3f s", timings["kernel_shap"])
        if "pdp" in runnable:
            t0 = time.perf_counter()
            shap_section = analysis.get("explanations", {}).get("kernel_shap")
            entries, pdp_manifest = run_pdp(config, dataset, predictor, shap_section=shap_section)
            analysis.setdefault("explanations", {})["pdp"] = entries
            extra_manifest["pdp"] = pdp_manifest
            timings["pdp"] = time.perf_counter() - t0
            log.info("Finished pdp in %.3f s", timings["pdp"])

    manifest = {
        "engine": "clarify-engine",
        "engine_version": __version__,
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_seconds": round(time.time() - started, 6),
        "dataset": {"rows": int(len(dataset.frame)), "columns": list(map(str, dataset.frame.columns)),
                    "files": list(getattr(dataset, "source_files", []) or [])},
        "methods_run": runnable,
        "not_run": [item.to_dict() for item in not_run],
        "model": model_info,
        **extra_manifest,
        "timings_seconds": timings,
    }
    return AnalysisResult(analysis=analysis, not_run=not_run, manifest=manifest, files=files,
                          report=report_request(config, dataset, bias_frame, predicted_label))
