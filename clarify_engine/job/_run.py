"""Running one planned job: dataset + plan (+ model) -> typed results and Clarify's outputs.

:func:`run_job` runs the methods of a :class:`~clarify_engine.job.Job` with one predictor,
each method as its own attempt: a method that starts and fails is recorded as
:class:`Failed`, the others still run, and :class:`~clarify_engine.errors.PartialFailure`
carries what completed. Methods the plan left out are recorded with their reason in
:attr:`AnalysisResult.not_run`. The engines return typed results; ``clarify_engine.report``
renders them as ``analysis.json``, ``explanations_shap/`` and the run manifest.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clarify_engine import _stop, _warnings
from clarify_engine._methods import NotRun
from clarify_engine._progress import Progress
from clarify_engine._version import __version__
from clarify_engine.bias import BiasReport, BiasSpec, bias_report
from clarify_engine.bias._memo import ColumnMemo
from clarify_engine.data import Dataset
from clarify_engine.errors import ClarifyError, NotSupportedError, PartialFailure
from clarify_engine.explain import PdpResult, PdpSpec, ShapResult, ShapSpec, run_pdp, run_shap
from clarify_engine.explain.text import TextShapResult, TextSpec, run_text_shap
from clarify_engine.explain.image._spec import ImageSpec
from clarify_engine.job._image import ImageShapResult, run_image_shap_job
from clarify_engine.job._plan_segments import SegmentsPlan
from clarify_engine.job._meter import ModelMeter
from clarify_engine.job._specs import Job
from clarify_engine.predict import ClientOptions, make_predictor
from clarify_engine.report import ReportRequest, report_request, write_job_report, write_outputs
from clarify_engine.report._bias_json import bias_json
from clarify_engine.report._explanations import (SE_SECTION_KEY, pdp_entries, pdp_manifest, shap_local_frame,
                                                 shap_manifest, shap_section, shap_standard_error_frame,
                                                 shap_standard_error_section)
from clarify_engine.report._image_outputs import write_pending
from clarify_engine.report._shap_outputs import write_shap_outputs
from clarify_engine.report._text_outputs import text_manifest, text_sections, write_text_outputs

log = logging.getLogger(__name__)

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


#: Why PDP fails when it was to pick its features by global SHAP and SHAP explained text units.
PDP_NEEDS_TABULAR_SHAP = ("methods.pdp lists no features and picks the top_k_features by global SHAP, but SHAP "
                          "explained text units (text_config), which do not rank columns; list methods.pdp.features "
                          "(tabular columns) to plot them")


def _reason(exc: BaseException) -> str:
    """The text of a failure: the message of an engine error, the type and message of any other."""
    if isinstance(exc, ClarifyError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def manifest_head(started: float) -> dict[str, Any]:
    """The first keys of ``run_manifest.json``: engine, version, Python, start time (``started``,
    a ``time.time()``) and elapsed seconds; shared by the in-memory and the streamed runner."""
    return {
        "engine": "clarify-engine",
        "engine_version": __version__,
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_seconds": round(time.time() - started, 6),
    }


class _Failures:
    """The methods of one job that failed, in order, with the errors that ended them."""

    def __init__(self) -> None:
        self.items: list[Failed] = []
        self.errors: list[BaseException] = []
        self.model_error: BaseException | None = None

    def finish(self, completed: list[str], result: AnalysisResult) -> AnalysisResult:
        """``result`` when nothing failed; else :class:`PartialFailure` carrying it, or, when nothing
        completed, the first error as is."""
        if not self.items:
            return result
        if not completed:
            raise self.errors[0]  # nothing to keep: the job fails with its first error, as is
        failed_names = ", ".join(item.method for item in self.items)
        details = " ".join(f"{item.method}: {item.reason}" for item in self.items)
        raise PartialFailure(
            f"Partial result: {failed_names} failed; analysis.json holds the methods that completed "
            f"({', '.join(completed)}). {details}",
            result,
        ) from self.errors[0]

    def model(self, meter: ModelMeter | None) -> ModelMeter:
        """The job's model for a method that needs it; else the error that made it unusable."""
        if self.model_error is not None:
            raise self.model_error
        if meter is None:  # the plan said no method needs the model
            raise RuntimeError("no model in this job's plan")
        return meter

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


def open_model(stack: contextlib.ExitStack, job: Job, features: Any, model: Any, options: ClientOptions | None,
               failures: _Failures, executor: Any = None) -> ModelMeter | None:
    """The job's predictor, entered on ``stack`` and metered; None when the plan needs no model
    or it cannot be used (then ``failures.model_error`` says why, and every method that needs
    it fails with that reason)."""
    if job.model is None:
        return None
    try:
        predictor = stack.enter_context(make_predictor(job.model, features, model, options))
    except Exception as exc:  # every method that needs the model fails with this reason
        _stop.check()
        failures.model_error = exc
        log.error("The model cannot be used: %s", _reason(exc))
        return None
    if executor is not None:
        predictor = executor.predictor(predictor, job.model, features, model, options)
    log.info("Model: %s", predictor.description)
    return ModelMeter(predictor, job.model)


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
    bias : dict
        The typed bias reports (:class:`~clarify_engine.bias.BiasReport`) by stage
        (``"pre_training"``, ``"post_training"``).
    shap : ShapResult or None
        The typed Kernel SHAP result (local values, standard errors, baseline...).
    pdp : PdpResult or None
        The typed partial-dependence result.
    job : Job or None
        The plan the job ran.
    report : ReportRequest or None
        The report to write after analysis.json (``methods.report``).
    text : TextShapResult or None
        The typed result of a text job (``methods.shap.text_config``): its local values go to
        ``explanations_shap/out.jsonl``.
    image : ImageShapResult or None
        Image explanations (heat maps written while the job ran; kept in ``image.pending``
        when it ran without an output folder).
    """

    analysis: dict[str, Any]
    not_run: list[NotRun] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    failed: list[Failed] = field(default_factory=list)
    bias: dict[str, BiasReport] = field(default_factory=dict)
    shap: ShapResult | None = None
    pdp: PdpResult | None = None
    job: Job | None = None
    report: ReportRequest | None = None
    text: TextShapResult | None = None
    image: ImageShapResult | None = None

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
        shap = self.shap
        save_local = shap is not None and (self.job is None or self.job.shap is None or self.job.shap.save_local)
        local = shap_local_frame(shap) if save_local else None
        text = self.text if self.text is not None and self.text.spec.save_local else None
        steps = (shap is not None) + (text is not None) + 1 + (self.report is not None)
        with Progress("Writing outputs", steps, "parts") as progress:  # SHAP files, analysis.json, report
            if text is not None:
                written += write_text_outputs(output_dir, text)
                progress.update()
            if self.image is not None and self.image.pending:
                written += write_pending(output_dir, self.image.pending)
            if shap is not None:
                written += write_shap_outputs(output_dir, local,
                                              shap_standard_error_frame(shap) if save_local else None, shap.baseline)
                progress.update()
            written += write_outputs(output_dir, self.analysis, self.manifest)
            progress.update()
            if self.report is not None:
                written += write_job_report(output_dir, self.report, self.analysis, self.manifest, local,
                                            None if shap is None else shap.baseline)
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
    frame = dataset.frame
    # a frame over the dataset's own columns, in this order: nothing copied (``.loc`` would copy
    # every column to reorder them)
    return pd.DataFrame({name: frame[name] for name in dict.fromkeys(names)}, copy=False)


def _unused_name(columns, name: str) -> str:
    """``name``, or ``name_1``, ``name_2``... when the frame already has such a column."""
    taken = set(map(str, columns))
    candidate, i = name, 0
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


def _stage(executor: Any, stage: str) -> Any:
    """The executor's count of worker calls for ``stage``; nothing without an executor."""
    return contextlib.nullcontext() if executor is None else executor.stage_of(stage)


def run_job(job: Job, dataset: Dataset, model: Any = None, options: ClientOptions | None = None, *,
            base_dir: str | os.PathLike | None = None, workers: int | None = None,
            output_dir: str | os.PathLike | None = None, executor: Any = None) -> AnalysisResult:
    """Run every method of the planned ``job`` on ``dataset``.

    Parameters
    ----------
    job : Job
        The plan (:func:`clarify_engine.job.plan`).
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
    output_dir : str or path-like, optional
        Where the job's outputs go, for methods that write while they run (the rest is
        written by :meth:`AnalysisResult.write`).
    executor : clarify_engine.cluster.DaskExecutor, optional
        Run the model-calling stages (predicted labels, Kernel SHAP shards, PDP grid rows) on
        a Dask cluster; the results are those of one process (``docs/scale.md``, "Dask").

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
    runnable = list(job.runnable)
    for item in job.not_run:
        log.warning("Not run: %s: %s", item.method, item.reason)
    log.info("Dataset: %d rows, %d columns; methods to run: %s", len(dataset.frame), dataset.frame.shape[1],
             ", ".join(runnable))

    analysis: dict[str, Any] = {"version": "1.0"}
    timings: dict[str, float] = {}
    extra_manifest: dict[str, Any] = {}
    failures = _Failures()
    results: dict[str, Any] = {}
    # one memo for the job: the stages type and code the same label, facet and group columns
    state: dict[str, Any] = {"bias_frame": None, "predicted_label": dataset.predicted_label, "memo": ColumnMemo()}

    @functools.cache
    def records() -> pd.DataFrame:
        """The feature columns the model sees, selected (copied) once, when a method needs them."""
        return dataset.frame.loc[:, list(dataset.features)]

    with contextlib.ExitStack() as stack:
        found = stack.enter_context(_warnings.collect())
        meter = open_model(stack, job, dataset.features, model, options, failures, executor)

        def use_model() -> ModelMeter:
            return failures.model(meter)

        def bias_stage(spec: BiasSpec) -> None:
            if state["bias_frame"] is None:
                state["bias_frame"] = _bias_frame(dataset)
            bias_frame = state["bias_frame"]
            predicted_label = state["predicted_label"]
            if spec.stage == "post_training" and predicted_label is None:
                t0 = time.perf_counter()
                log.info("Getting predictions for %d rows (%d features) from %s", len(records()),
                         records().shape[1], use_model().predictor.description)
                with _stage(executor, "predictions"):
                    labels = use_model().predicted_labels(records())
                predicted_label = _unused_name(bias_frame.columns, "predicted_label")
                bias_frame = bias_frame.assign(**{predicted_label: labels})
                state["bias_frame"], state["predicted_label"] = bias_frame, predicted_label  # for the report
                timings["predictions"] = time.perf_counter() - t0
            if spec.post_training:
                spec = spec.with_predicted_label(predicted_label)
            key = f"{spec.stage}_bias_metrics"
            t0 = time.perf_counter()
            log.info("Computing %s metrics (%s) for facets %s", spec.stage.replace("_", "-"), list(spec.methods),
                     [f.name for f in spec.facets])
            report = (bias_report(bias_frame, spec, memo=state["memo"]) if executor is None
                      else executor.bias_report(bias_frame, spec))
            results.setdefault("bias", {})[spec.stage] = report
            analysis[key] = bias_json(report)
            timings[key] = time.perf_counter() - t0
            log.info("Finished %s in %.3f s", key, timings[key])

        def shap(spec: ShapSpec) -> None:
            t0 = time.perf_counter()
            scorer = use_model().scorer("kernel_shap")
            ids = dataset.frame[spec.joinsource] if spec.joinsource is not None else None
            result = run_shap(records(), spec, scorer, workers=workers, base_dir=base_dir, record_ids=ids,
                              model=use_model().predictor, kernel=None if executor is None else executor.kernel(scorer))
            results["shap"] = result
            explanations = analysis.setdefault("explanations", {})
            explanations["kernel_shap"] = shap_section(result)
            explanations[SE_SECTION_KEY] = shap_standard_error_section(result)
            extra_manifest["kernel_shap"] = shap_manifest(result, scorer.calls)
            timings["kernel_shap"] = time.perf_counter() - t0
            log.info("Kernel SHAP: %d distinct synthetic rows sent in %d model calls (%.1f s in the model)",
                     scorer.calls.rows, scorer.calls.calls, scorer.calls.seconds)
            log.info("Finished kernel_shap in %.3f s", timings["kernel_shap"])

        def text_shap(spec: TextSpec) -> None:
            t0 = time.perf_counter()
            meter = use_model()
            scorer = meter.scorer("kernel_shap")
            ids = dataset.frame[spec.joinsource] if spec.joinsource is not None else None
            # a remote model has a payload limit: a record whose synthetic texts may exceed it is
            # not explained (the others are); an in-process model has none
            limit = None if meter.predictor.batcher is None else (options or ClientOptions()).max_payload_bytes
            result = run_text_shap(records(), spec, scorer, record_ids=ids, base_dir=base_dir,
                                   max_record_bytes=limit, workers=workers)
            results["text"] = result
            labels = scorer.labels(result.n_outputs)
            section, se_section = text_sections(result, labels, result.spec.agg_method, result.spec.max_top_tokens)
            explanations = analysis.setdefault("explanations", {})
            explanations["kernel_shap"] = section
            explanations[SE_SECTION_KEY] = se_section
            extra_manifest["kernel_shap"] = text_manifest(result, labels, scorer.calls)
            timings["kernel_shap"] = time.perf_counter() - t0
            log.info("Finished kernel_shap (text units) in %.3f s", timings["kernel_shap"])

        def pdp(spec: PdpSpec) -> None:
            if spec.features is None and failures.failed("shap"):
                raise NotSupportedError(PDP_NEEDS_SHAP)
            if spec.features is None and job.text is not None:
                raise NotSupportedError(PDP_NEEDS_TABULAR_SHAP)
            t0 = time.perf_counter()
            scorer = use_model().scorer("pdp")
            with _stage(executor, "pdp"):
                result = run_pdp(records(), spec, scorer, ranking=results.get("shap"))
            results["pdp"] = result
            analysis.setdefault("explanations", {})["pdp"] = pdp_entries(result)
            extra_manifest["pdp"] = pdp_manifest(result, scorer.calls)
            timings["pdp"] = time.perf_counter() - t0
            log.info("PDP: %d rows sent in %d model calls (%.1f s in the model)", scorer.calls.rows,
                     scorer.calls.calls, scorer.calls.seconds)
            log.info("Finished pdp in %.3f s", timings["pdp"])

        def bias_extensions_step(plan: SegmentsPlan) -> None:
            from clarify_engine.bias._extensions import bias_extensions
            from clarify_engine.report._segments_json import extensions_dict

            t0 = time.perf_counter()
            done = results.get("bias") or {}
            specs = [s.with_predicted_label(state["predicted_label"]) if s.post_training else s
                     for s in job.bias if s.stage in done]
            ext = bias_extensions(state["bias_frame"], specs, segments=plan.segments, bootstrap=plan.bootstrap,
                                  intersections=plan.intersections, segment_frame=dataset.frame)
            results["bias_extensions"] = ext
            analysis.update(extensions_dict(ext))
            timings["bias_extensions"] = time.perf_counter() - t0
            log.info("Finished segments / intervals / intersections in %.3f s", timings["bias_extensions"])

        def image_shap(spec: ImageSpec) -> None:
            t0 = time.perf_counter()
            result = run_image_shap_job(spec, dataset, use_model(), model, output_dir, base_dir)
            results["image"] = result
            analysis.setdefault("explanations", {})["image_shap"] = result.section()
            extra_manifest["image_shap"] = result.manifest()
            timings["image_shap"] = time.perf_counter() - t0
            log.info("Finished image_shap in %.3f s", timings["image_shap"])

        for spec in job.bias:
            failures.attempt(f"{spec.stage}_bias", bias_stage, spec)
        if job.segments is not None and results.get("bias"):
            failures.attempt("bias_extensions", bias_extensions_step, job.segments)
        if job.image is not None:
            failures.attempt("shap", image_shap, job.image)
        if job.shap is not None:
            failures.attempt("shap", shap, job.shap)
        if job.text is not None:
            failures.attempt("shap", text_shap, job.text)
        if job.pdp is not None:
            failures.attempt("pdp", pdp, job.pdp)
    _stop.check()

    completed = [name for name in runnable if not failures.failed(name)]
    job_warnings = [w.to_dict() for w in dict.fromkeys([*getattr(dataset, "warnings", ()), *found])]
    if job_warnings:
        analysis["warnings"] = job_warnings
    manifest = {
        **manifest_head(started),
        "dataset": {"rows": int(len(dataset.frame)), "columns": list(map(str, dataset.frame.columns)),
                    "files": list(getattr(dataset, "source_files", []) or []),
                    "read": getattr(dataset, "read_report", None) or {}},
        "status": "partial" if failures.items else "completed",
        "methods_run": completed,
        "failed": [item.to_dict() for item in failures.items],
        "not_run": [item.to_dict() for item in job.not_run],
        "model": meter.summary() if meter is not None else {},
        **extra_manifest,
        **({} if executor is None else {"cluster": executor.manifest()}),
        "timings_seconds": timings,
        "warnings": job_warnings,
    }
    report = report_request(job.report, label=dataset.label,
                            label_values=None if job.report is None else job.report.label_values,
                            facets=dataset.facets,
                            group_variable=dataset.group_variable, bias_frame=state["bias_frame"],
                            predicted_label=state["predicted_label"])
    result = AnalysisResult(analysis=analysis, not_run=list(job.not_run), manifest=manifest,
                            failed=list(failures.items), bias=results.get("bias", {}), shap=results.get("shap"), pdp=results.get("pdp"), job=job,
                            report=report, text=results.get("text"), image=results.get("image"))
    return failures.finish(completed, result)
