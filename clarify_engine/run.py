"""One analysis job: config + dataset (+ model) -> results.

This module decides which of the requested methods can run, runs them, and gathers
their sections into Clarify's ``analysis.json`` shape. Methods this engine cannot run
yet are not silently dropped: each is recorded with its reason in
:attr:`AnalysisResult.not_run`, logged, and written to the run manifest. A method that
starts and fails does not discard the others: it is recorded as :class:`Failed`, the rest
run, and :class:`~clarify_engine.errors.PartialFailure` carries what completed.
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

from clarify_engine import _warnings
from clarify_engine._methods import NotRun, requested, split
from clarify_engine._version import __version__
from clarify_engine.bias import FacetSpec, bias_section
from clarify_engine.config import AnalysisConfig, check_model_source
from clarify_engine.data import Dataset
from clarify_engine import _stop
from clarify_engine.errors import ClarifyError, ConfigError, NotSupportedError, PartialFailure
from clarify_engine.predict import ClientOptions, make_predictor
from clarify_engine._progress import Progress
from clarify_engine.report import ReportRequest, report_request, write_job_report, write_outputs
from clarify_engine.report._shap_outputs import write_shap_outputs
from clarify_engine.explain import SE_SECTION_KEY, run_pdp, run_shap

log = logging.getLogger("clarify_engine")

#: Key of each bias stage in analysis.json, by the method that produces it.
BIAS_STAGES = (
    ("pre_training_bias", "pre_training", "pre_training_bias_metrics"),
    ("post_training_bias", "post_training", "post_training_bias_metrics"),
)

@dataclass(frozen=True)
class Failed:
    """A requested method that started and failed, and why; the other methods still ran."""

    method: str
    reason: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"method": self.method, "reason": self.reason, "error": self.error}


#: Why PDP fails when it was to pick its features by global SHAP and SHAP failed.
PDP_NEEDS_SHAP = ("methods.pdp lists no features and picks the top_k_features by global SHAP, but SHAP "
                  "failed; list methods.pdp.features to plot them without SHAP")


def _reason(exc: BaseException) -> str:
    """The text of a failure: the message of an engine error, the type and message of any other."""
    if isinstance(exc, ClarifyError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Failures:
    """The methods of one job that failed, in order, with the errors that ended them."""

    def __init__(self) -> None:
        self.items: list[Failed] = []
        self.errors: list[BaseException] = []
        self.model_error: BaseException | None = None

    def failed(self, method: str) -> bool:
        return any(item.method == method for item in self.items)

    def attempt(self, method: str, step, *args) -> None:
        """Run ``step(*args)``; a failure is recorded and logged, and the job goes on.

        A stop request (:class:`clarify_engine._stop.JobStopped`) is not a failure: it passes,
        also when it arrives while a failure is being handled.
        """
        _stop.check()
        try:
            step(*args)
        except Exception as exc:
            _stop.check()
            self.items.append(Failed(method, _reason(exc), type(exc).__name__))
            self.errors.append(exc)
            if isinstance(exc, ClarifyError):
                log.error("Failed: %s: %s", method, _reason(exc))
            else:
                log.error("Failed: %s: %s", method, _reason(exc), exc_info=exc)


@dataclass
class AnalysisResult:
    """The outcome of one job.

    Attributes
    ----------
    analysis : dict
        The content of ``analysis.json``: Clarify's keys, plus the extension key
        ``"warnings"`` (a list of ``{"code", "where", "message", "fix"}``) when the job
        found problems that did not stop it.
    not_run : list of NotRun
        Requested methods that were not computed, with reasons.
    manifest : dict
        What ran, on what, with which versions and timings (``run_manifest.json``).
    failed : list of Failed
        Requested methods that started and failed, with reasons (only on the result a
        :class:`~clarify_engine.errors.PartialFailure` carries).
    """

    analysis: dict[str, Any]
    not_run: list[NotRun] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: Tables written beside analysis.json: ``"shap"`` -> (local values, standard errors, baseline).
    files: dict[str, Any] = field(default_factory=dict)
    failed: list[Failed] = field(default_factory=list)
    #: The report to write after analysis.json (``methods.report``), or None.
    report: ReportRequest | None = None

    @property
    def warnings(self) -> list[dict[str, str]]:
        """The job's warnings (``analysis.json``'s ``"warnings"``), empty when there were none."""
        return list(self.analysis.get("warnings", []))

    def to_dict(self) -> dict[str, Any]:
        """Return the ``analysis.json`` content: Clarify's keys, plus the extension key
        ``"warnings"`` when the job had warnings (:attr:`warnings`)."""
        return self.analysis

    def write(self, output_dir: str | Path) -> list[Path]:
        """Write ``analysis.json``, ``run_manifest.json``, ``explanations_shap/`` and the report into ``output_dir``.

        The report comes last: a failure to render it is logged and recorded in the manifest.
        """
        written = []
        steps = ("shap" in self.files) + 1 + (self.report is not None)
        with Progress("Writing outputs", steps, "parts") as progress:  # SHAP files, analysis.json, report
            if "shap" in self.files:
                written += write_shap_outputs(output_dir, *self.files["shap"])
                progress.update()
            written += write_outputs(output_dir, self.analysis, self.manifest)
            progress.update()
            if self.report is not None:
                local, _, baseline = self.files.get("shap", (None, None, None))
                written += write_job_report(output_dir, self.report, self.analysis, self.manifest, local, baseline)
                progress.update()
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
    if model is None:
        check_model_source(config)
    for name in requested(config):
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
    return split(config)


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

    Raises
    ------
    PartialFailure
        Some methods failed and others completed: the error's ``result`` holds the completed
        sections and, in ``result.failed`` and its manifest, each failed method with its
        reason. A failure of one method never discards the others.
    ClarifyError, Exception
        Every method that ran failed: the first failure, unchanged.
    JobStopped
        The job was asked to stop (SIGTERM in the container); checked between methods.

    Notes
    -----
    One predictor serves the whole job, so a shadow endpoint is created once, used for
    the predicted labels and the SHAP synthetic rows, and deleted at the end. When the
    model cannot be used (e.g. its endpoint cannot be created), the methods that need it
    fail with that reason and the pre-training bias metrics are still computed.
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
    failures = _Failures()
    state: dict[str, Any] = {"bias_frame": None, "predicted_label": dataset.predicted_label}
    facets = [FacetSpec(name, None if values is None else list(values)) for name, values in dataset.facets]
    with contextlib.ExitStack() as stack:
        found = stack.enter_context(_warnings.collect())
        predictor = None
        if _needs_model(runnable, dataset):
            try:
                predictor = stack.enter_context(make_predictor(config, dataset.features, model, options))
            except Exception as exc:  # every method that needs the model fails with this reason
                _stop.check()
                failures.model_error = exc
                log.error("The model cannot be used: %s", _reason(exc))
            else:
                model_info["description"] = predictor.description
                log.info("Model: %s", predictor.description)

        def use_model():
            if failures.model_error is not None:
                raise failures.model_error
            return predictor

        def bias_stage(method: str, stage: str, key: str) -> None:
            if state["bias_frame"] is None:
                state["bias_frame"] = _bias_frame(dataset)
            bias_frame = state["bias_frame"]
            predicted_label = state["predicted_label"]
            if stage == "post_training" and predicted_label is None:
                t0 = time.perf_counter()
                labels = _predict_labels(dataset, use_model(), model_info)
                predicted_label = _unused_name(bias_frame.columns, "predicted_label")
                bias_frame = bias_frame.assign(**{predicted_label: labels})
                state["bias_frame"], state["predicted_label"] = bias_frame, predicted_label  # for the report
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
                column_typing=config.column_typing_or_default,
                # A given probability_threshold turns scores in a predicted-label column/dataset into labels.
                probability_threshold=config.probability_threshold if dataset.predicted_label else None,
            )
            timings[key] = time.perf_counter() - t0
            log.info("Finished %s in %.3f s", key, timings[key])

        def shap() -> None:
            t0 = time.perf_counter()
            section, local, extras = run_shap(config, dataset, use_model(), workers=workers, base_dir=base_dir)
            explanations = analysis.setdefault("explanations", {})
            explanations["kernel_shap"] = section
            explanations[SE_SECTION_KEY] = extras["standard_error_section"]
            extra_manifest["kernel_shap"] = extras["manifest"]
            save_local = config.methods.shap.save_local_shap_values_or_default
            files["shap"] = (local if save_local else None, extras["standard_errors"] if save_local else None,
                             extras["baseline"])
            timings["kernel_shap"] = time.perf_counter() - t0
            log.info("Finished kernel_shap in %.3f s", timings["kernel_shap"])

        def pdp() -> None:
            if config.methods.pdp.features is None and failures.failed("shap"):
                raise NotSupportedError(PDP_NEEDS_SHAP)
            t0 = time.perf_counter()
            shap_section = analysis.get("explanations", {}).get("kernel_shap")
            entries, pdp_manifest = run_pdp(config, dataset, use_model(), shap_section=shap_section)
            analysis.setdefault("explanations", {})["pdp"] = entries
            extra_manifest["pdp"] = pdp_manifest
            timings["pdp"] = time.perf_counter() - t0
            log.info("Finished pdp in %.3f s", timings["pdp"])

        for method, stage, key in BIAS_STAGES:
            if method in runnable:
                failures.attempt(method, bias_stage, method, stage, key)
        if "shap" in runnable:
            failures.attempt("shap", shap)
        if "pdp" in runnable:
            failures.attempt("pdp", pdp)
    _stop.check()

    completed = [name for name in runnable if not failures.failed(name)]
    job_warnings = [w.to_dict() for w in dict.fromkeys([*getattr(dataset, "warnings", ()), *found])]
    if job_warnings:
        analysis["warnings"] = job_warnings
    manifest = {
        "engine": "clarify-engine",
        "engine_version": __version__,
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_seconds": round(time.time() - started, 6),
        "dataset": {"rows": int(len(dataset.frame)), "columns": list(map(str, dataset.frame.columns)),
                    "files": list(getattr(dataset, "source_files", []) or []),
                    "read": getattr(dataset, "read_report", None) or {}},
        "status": "partial" if failures.items else "completed",
        "methods_run": completed,
        "failed": [item.to_dict() for item in failures.items],
        "not_run": [item.to_dict() for item in not_run],
        "model": model_info,
        **extra_manifest,
        "timings_seconds": timings,
        "warnings": job_warnings,
    }
    result = AnalysisResult(analysis=analysis, not_run=not_run, manifest=manifest, files=files,
                            failed=list(failures.items),
                            report=report_request(config, dataset, state["bias_frame"], state["predicted_label"]))
    if failures.items:
        if not completed:
            raise failures.errors[0]  # nothing to keep: the job fails with its first error, as is
        failed_names = ", ".join(item.method for item in failures.items)
        details = " ".join(f"{item.method}: {item.reason}" for item in failures.items)
        raise PartialFailure(
            f"Partial result: {failed_names} failed; analysis.json holds the methods that completed "
            f"({', '.join(completed)}). {details}",
            result,
        ) from failures.errors[0]
    return result
