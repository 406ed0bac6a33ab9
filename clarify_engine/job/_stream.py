"""Run a job on a :class:`~clarify_engine.data.ChunkedDataset`: the dataset is never held.

``analyze(..., chunk_rows=N)`` (``clarify-engine analyze --chunk-rows N``) plans the job on
the dataset's schema and, when every requested method can be computed from chunks, runs it
here: the bias stages (:class:`~clarify_engine.bias._stream.StreamedBias`: one pass for the
count metrics of both stages, more for FT), with the model's predicted labels asked chunk by
chunk when the data has none (:mod:`._stream_labels`); Kernel SHAP in shards
(:func:`~clarify_engine.explain._stream.stream_shap`, local values appended to
``explanations_shap/out.csv`` as each shard finishes); PDP from two passes
(:func:`~clarify_engine.explain._pdp_stream.stream_pdp`). What holds rows (text and image
explanations, segments, the report's charts) is refused before any work: :func:`streaming_refusal` says why and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

from clarify_engine import _stop, _warnings
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._stream import StreamedBias
from clarify_engine.data import ChunkedDataset
from clarify_engine.errors import NotSupportedError
from clarify_engine.explain._pdp_stream import stream_pdp
from clarify_engine.explain._spec import PdpSpec, ShapSpec
from clarify_engine.explain._stream import stream_shap
from clarify_engine.job._meter import ModelMeter
from clarify_engine.job._run import PDP_NEEDS_SHAP, AnalysisResult, _Failures, _unused_name, manifest_head, open_model
from clarify_engine.job._specs import Job
from clarify_engine.job._stream_labels import PredictedLabels
from clarify_engine.predict import ClientOptions
from clarify_engine.report._bias_json import bias_json
from clarify_engine.report._explanations import (SE_SECTION_KEY, pdp_entries, pdp_manifest, shap_manifest,
                                                 shap_section, shap_standard_error_section)
from clarify_engine.report._shap_outputs import StreamedLocalValues, write_shap_outputs

__all__ = ["TEXT_REFUSAL", "run_streamed", "streaming_refusal"]

log = logging.getLogger(__name__)


#: The fix every streaming refusal names.
RUN_IN_MEMORY = "run without --chunk-rows (chunk_rows=None) to load the dataset"


#: Why a text job does not stream (its plan reads the text columns' rows, so the API refuses it
#: from the config, before planning).
TEXT_REFUSAL = ("methods.shap.text_config: text explanations are not streamed (each record's text units are "
                f"explained whole); {RUN_IN_MEMORY}")


def streaming_refusal(job: Job) -> str | None:
    """Why ``job`` cannot run from chunks, and the fix (None when it can)."""
    if job.text is not None:
        return TEXT_REFUSAL
    if job.image is not None:
        return f"methods.shap.image_config: image explanations are not streamed; {RUN_IN_MEMORY}"
    if job.report is not None:
        return (f"methods.report: the report's tables and charts read every row of the dataset (bias frame, "
                f"local SHAP values for the beeswarm), which a streamed job does not hold; {RUN_IN_MEMORY}, "
                "or remove methods.report")
    if job.segments is not None:
        return (f"segment_config, bias_confidence_intervals and intersectional_facets read the rows of every "
                f"segment, which a streamed job does not hold; {RUN_IN_MEMORY}, or remove them from the config")
    if not job.bias and job.shap is None and job.pdp is None:
        return f"the job computes no bias metrics and no explanations, so there is nothing to stream; {RUN_IN_MEMORY}"
    return None


def _columns(data: ChunkedDataset) -> list[str]:
    """The columns the in-memory job's bias frame has (``job._run._bias_frame``)."""
    names = [*data.features, *(name for name, _ in data.facets)]
    names += [c for c in (data.group_variable, data.label, data.predicted_label) if c is not None]
    return list(dict.fromkeys(names))


def run_streamed(job: Job, data: ChunkedDataset, model: Any = None, options: ClientOptions | None = None, *,
                 base_dir: str | os.PathLike | None = None, workers: int | None = None,
                 output_dir: str | os.PathLike | None = None) -> AnalysisResult:
    """Every method of ``job`` from ``data``, as :func:`~clarify_engine.job.run_job` gives them.

    Parameters
    ----------
    job : Job
        A plan for which :func:`streaming_refusal` is None.
    data : ChunkedDataset
        The dataset's chunks.
    model, options, base_dir, workers
        As for :func:`~clarify_engine.job.run_job`.
    output_dir : str or path-like, optional
        Where ``explanations_shap/`` is written as the shards finish (without it the local
        SHAP values are not kept: only the global ones).

    Returns
    -------
    AnalysisResult
        ``analysis`` equal to the in-memory job's (``docs/scale.md``, "Streamed
        explanations", says where the last bit may differ); the manifest adds
        ``"streaming"``: ``{"chunk_rows", "chunks", "passes", "streamed"}``.

    Raises
    ------
    PartialFailure, ClarifyError
        As :func:`~clarify_engine.job.run_job`.
    """
    started = time.time()
    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    analysis: dict[str, Any] = {"version": "1.0"}
    timings: dict[str, float] = {}
    extra_manifest: dict[str, Any] = {}
    failures = _Failures()
    reports: dict = {}
    results: dict[str, Any] = {}
    features = list(data.features)
    with contextlib.ExitStack() as stack:
        found = stack.enter_context(_warnings.collect())
        meter = open_model(stack, job, features, model, options, failures)

        def use_model() -> ModelMeter:
            return failures.model(meter)

        bias_specs = list(job.bias)
        needs_labels = any(spec.post_training and spec.predicted_label is None for spec in bias_specs)
        bias_data = data
        if needs_labels and meter is not None:
            name = _unused_name(_columns(data), "predicted_label")
            bias_data = stack.enter_context(PredictedLabels(data, meter, name))
            bias_specs = [spec.with_predicted_label(name) if spec.post_training else spec for spec in bias_specs]
        counted = [spec for spec in bias_specs if not (spec.post_training and spec.predicted_label is None)]
        streamed = None
        pass_error: Exception | None = None
        if counted:
            t0 = time.perf_counter()
            selected = bias_data.select(_columns(bias_data))
            try:  # one pass for every bias stage: its failure (the data, or the model's labels) is theirs
                streamed = StreamedBias(selected, counted)
            except Exception as exc:
                _stop.check()
                pass_error = exc
            timings["bias_count_pass"] = time.perf_counter() - t0
            if needs_labels and meter is not None:
                timings["predictions"] = meter.stages["predictions"].seconds

        def stage(spec: BiasSpec) -> None:
            if spec.post_training and spec.predicted_label is None:
                use_model()  # the model's error is this stage's
            if pass_error is not None:
                raise pass_error
            assert streamed is not None
            key = f"{spec.stage}_bias_metrics"
            t0 = time.perf_counter()
            reports[spec.stage] = streamed.report(spec)
            analysis[key] = bias_json(reports[spec.stage])
            timings[key] = time.perf_counter() - t0

        def shap(spec: ShapSpec) -> None:
            t0 = time.perf_counter()
            scorer = use_model().scorer("kernel_shap")
            columns = [*features, *([spec.joinsource] if spec.joinsource is not None else [])]
            chunks = data.select(list(dict.fromkeys(columns)))
            sink = StreamedLocalValues(output_dir) if output_dir is not None and spec.save_local else None
            try:
                result = stream_shap(lambda: chunks, spec, scorer, chunk_rows=data.chunk_rows, sink=sink,
                                     id_column=spec.joinsource, model=use_model().predictor, workers=workers,
                                     base_dir=base_dir)
                if sink is not None:
                    sink.commit()
            except BaseException:
                if sink is not None:
                    sink.abort()
                raise
            if output_dir is not None:
                write_shap_outputs(output_dir, baseline=result.baseline)
            results["shap"] = result
            explanations = analysis.setdefault("explanations", {})
            explanations["kernel_shap"] = shap_section(result)
            explanations[SE_SECTION_KEY] = shap_standard_error_section(result)
            extra_manifest["kernel_shap"] = {**shap_manifest(result, scorer.calls),
                                             "streaming": {"shards": result.shards,
                                                           "baseline_sample_rows": result.sample_rows}}
            timings["kernel_shap"] = time.perf_counter() - t0
            log.info("Finished kernel_shap (streamed, %d shards) in %.3f s", result.shards, timings["kernel_shap"])

        def pdp(spec: PdpSpec) -> None:
            if spec.features is None and failures.failed("shap"):
                raise NotSupportedError(PDP_NEEDS_SHAP)
            t0 = time.perf_counter()
            scorer = use_model().scorer("pdp")
            chunks = data.select(features)
            result = stream_pdp(lambda: chunks, features, spec, scorer, ranking=results.get("shap"))
            analysis.setdefault("explanations", {})["pdp"] = pdp_entries(result)
            extra_manifest["pdp"] = pdp_manifest(result, scorer.calls)
            timings["pdp"] = time.perf_counter() - t0
            log.info("Finished pdp (streamed) in %.3f s", timings["pdp"])

        for spec in bias_specs:
            failures.attempt(f"{spec.stage}_bias", stage, spec)
        if job.shap is not None:
            failures.attempt("shap", shap, job.shap)
        if job.pdp is not None:
            failures.attempt("pdp", pdp, job.pdp)
    _stop.check()
    runnable = list(job.runnable)
    completed = [name for name in runnable if not failures.failed(name)]
    job_warnings = [w.to_dict() for w in dict.fromkeys(found)]
    if job_warnings:
        analysis["warnings"] = job_warnings
    stats = data.stats
    streamed_methods = [name for name in completed if name in ("pre_training_bias", "post_training_bias", "shap",
                                                                "pdp")]
    if needs_labels and "post_training_bias" in completed:
        streamed_methods.append("predicted_labels")
    manifest = {
        **manifest_head(started),
        "dataset": {"rows": stats.rows, "columns": list(map(str, data.columns)), "files": list(data.source_files),
                    "read": stats.read_report},
        "streaming": {"chunk_rows": data.chunk_rows, "chunks": stats.chunks, "passes": stats.passes,
                      "streamed": streamed_methods},
        "status": "partial" if failures.items else "completed",
        "methods_run": completed,
        "failed": [item.to_dict() for item in failures.items],
        "not_run": [item.to_dict() for item in job.not_run],
        "model": meter.summary() if meter is not None else {},
        **extra_manifest,
        "timings_seconds": timings,
        "warnings": job_warnings,
    }
    log.info("Streamed %s: %d rows in %d chunk(s) of %d rows, %d pass(es) over the data",
             ", ".join(streamed_methods) or "nothing", stats.rows, stats.chunks, data.chunk_rows, stats.passes)
    result = AnalysisResult(analysis=analysis, not_run=list(job.not_run), manifest=manifest,
                            failed=list(failures.items), bias=reports, job=job)
    return failures.finish(completed, result)
