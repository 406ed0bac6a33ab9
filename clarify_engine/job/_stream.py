"""Run a bias job on a :class:`~clarify_engine.data.ChunkedDataset`: the dataset is never held.

``analyze(..., chunk_rows=N)`` (``clarify-engine analyze --chunk-rows N``) plans the job on
the dataset's schema and, when every requested method can be computed from chunks, runs the
bias stages here (:class:`~clarify_engine.bias._stream.StreamedBias`: one pass for the
count metrics of both stages, more for FT). Anything that holds rows (SHAP, PDP, segments,
the report's charts) or that needs the model's predicted labels makes the job load the
dataset as usual; :func:`streaming_refusal` says why, and the manifest keeps it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from clarify_engine import _stop, _warnings
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._stream import StreamedBias
from clarify_engine.data import ChunkedDataset
from clarify_engine.job._run import AnalysisResult, _Failures, manifest_head
from clarify_engine.job._specs import Job
from clarify_engine.report._bias_json import bias_json

__all__ = ["run_streamed", "streaming_refusal"]

log = logging.getLogger(__name__)


def streaming_refusal(job: Job) -> str | None:
    """Why ``job`` cannot run from chunks (None when it can)."""
    holding = [name for name, part in (("shap", job.shap), ("shap", job.text), ("shap", job.image), ("pdp", job.pdp),
                                       ("report", job.report), ("segments", job.segments)) if part is not None]
    if holding:
        return f"{', '.join(dict.fromkeys(holding))} read(s) rows of the dataset, which streaming does not hold"
    if any(spec.post_training and spec.predicted_label is None for spec in job.bias):
        return "post-training bias needs the model's predicted labels, which the streamed job does not request yet"
    if not job.bias:
        return "the job computes no bias metrics"
    return None


def _columns(data: ChunkedDataset) -> list[str]:
    """The columns the in-memory job's bias frame has (``job._run._bias_frame``)."""
    names = [*data.features, *(name for name, _ in data.facets)]
    names += [c for c in (data.group_variable, data.label, data.predicted_label) if c is not None]
    return list(dict.fromkeys(names))


def run_streamed(job: Job, data: ChunkedDataset) -> AnalysisResult:
    """The bias stages of ``job`` from ``data``, as :func:`~clarify_engine.job.run_job` gives them.

    Parameters
    ----------
    job : Job
        A plan for which :func:`streaming_refusal` is None.
    data : ChunkedDataset
        The dataset's chunks.

    Returns
    -------
    AnalysisResult
        ``analysis`` equal to the in-memory job's; the manifest adds ``"streaming"``:
        ``{"chunk_rows", "chunks", "passes"}``.

    Raises
    ------
    PartialFailure, ClarifyError
        As :func:`~clarify_engine.job.run_job`.
    """
    started = time.time()
    analysis: dict[str, Any] = {"version": "1.0"}
    timings: dict[str, float] = {}
    failures = _Failures()
    reports: dict = {}
    selected = data.select(_columns(data))
    with _warnings.collect() as found:
        t0 = time.perf_counter()
        streamed = StreamedBias(selected, job.bias)  # reading: a failure here fails the job, as loading does
        timings["bias_count_pass"] = time.perf_counter() - t0

        def stage(spec: BiasSpec) -> None:
            key = f"{spec.stage}_bias_metrics"
            t0 = time.perf_counter()
            reports[spec.stage] = streamed.report(spec)
            analysis[key] = bias_json(reports[spec.stage])
            timings[key] = time.perf_counter() - t0

        for spec in job.bias:
            failures.attempt(f"{spec.stage}_bias", stage, spec)
    _stop.check()
    runnable = list(job.runnable)
    completed = [name for name in runnable if not failures.failed(name)]
    job_warnings = [w.to_dict() for w in dict.fromkeys(found)]
    if job_warnings:
        analysis["warnings"] = job_warnings
    stats = data.stats
    manifest = {
        **manifest_head(started),
        "dataset": {"rows": stats.rows, "columns": list(map(str, data.columns)), "files": list(data.source_files),
                    "read": stats.read_report},
        "streaming": {"chunk_rows": data.chunk_rows, "chunks": stats.chunks, "passes": stats.passes},
        "status": "partial" if failures.items else "completed",
        "methods_run": completed,
        "failed": [item.to_dict() for item in failures.items],
        "not_run": [item.to_dict() for item in job.not_run],
        "model": {},
        "timings_seconds": timings,
        "warnings": job_warnings,
    }
    log.info("Streamed the bias stages: %d rows in %d chunk(s) of %d rows, %d pass(es) over the data",
             stats.rows, stats.chunks, data.chunk_rows, stats.passes)
    result = AnalysisResult(analysis=analysis, not_run=list(job.not_run), manifest=manifest,
                            failed=list(failures.items), bias=reports, job=job)
    return failures.finish(completed, result)
