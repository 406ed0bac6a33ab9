"""A text SHAP job against a predictor: spec -> engine -> Clarify's sections and the manifest entry.

This is the seam the job runner calls (``run.py`` / the job plan): it needs the resolved
:class:`TextSpec` (``clarify_engine.job._plan_text.plan_text``), the dataset frame and the
job's predictor, and returns what the writers need.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from clarify_engine.explain.text._engine import explain_text
from clarify_engine.explain.text._result import TextShapResult
from clarify_engine.explain.text._spec import TextSpec

__all__ = ["TextJobResult", "run_text_shap"]


@dataclass(frozen=True)
class TextJobResult:
    """What a text SHAP job produced.

    Attributes
    ----------
    result : TextShapResult
    labels : tuple of str
        Name of each model output (``label0``... or the predictor's label headers).
    section, standard_error_section : dict
        ``explanations.kernel_shap`` and ``explanations.kernel_shap_standard_errors``.
    manifest : dict
        The ``kernel_shap`` entry of ``run_manifest.json``.
    joinsource : list or None
        The join key of each record (``join_source_value`` of out.jsonl).
    """

    result: TextShapResult
    labels: tuple
    section: dict
    standard_error_section: dict
    manifest: dict
    joinsource: list | None = None


def run_text_shap(spec: TextSpec, dataset, predictor, *, max_rows_per_call: int = 100_000,
                  workers: int = 1) -> TextJobResult:
    """Explain the dataset's records unit by unit through ``predictor``.

    Parameters
    ----------
    spec : TextSpec
    dataset : Dataset
        ``frame`` holds ``spec.features``; ``joinsource`` (optional) names the join key.
    predictor : Predictor
        ``predict(frame) -> ModelOutput``, ``label_headers``.
    max_rows_per_call, workers
        As :func:`explain_text`.

    Returns
    -------
    TextJobResult
    """
    from clarify_engine.explain._shap_job import make_predict
    from clarify_engine.predict import score_columns
    from clarify_engine.report._text_outputs import text_sections

    started = time.perf_counter()
    # the tabular job's predict callable, fed frames as they are (no coding): frame -> scores
    scores = make_predict(predictor, lambda frame: frame)
    result = explain_text(dataset.frame, spec, scores, max_rows_per_call=max_rows_per_call, workers=workers)
    d = result.n_outputs
    headers = getattr(predictor, "label_headers", None)
    if scores.first_output is not None:
        labels = [str(x) for x in score_columns(scores.first_output, headers)]
    else:
        labels = [str(h) for h in headers] if headers is not None and len(headers) == d else \
            [f"label{i}" for i in range(d)]
    section, se_section = text_sections(result, labels, spec.agg_method, spec.max_top_tokens)
    joinsource = None
    if getattr(dataset, "joinsource", None) is not None:
        joinsource = dataset.frame[dataset.joinsource].tolist()
    manifest = {
        "text": {"granularity": spec.granularity, "language": spec.language,
                 "text_columns": list(spec.text_columns), "max_top_tokens": spec.max_top_tokens},
        "labels": labels, "agg_method": spec.agg_method, "link": spec.link, "seed": spec.seed,
        "num_samples": spec.num_samples if spec.num_samples is not None else "auto: min(2M + 2048, 2^M - 2) per record",
        "baseline": {"source": spec.baseline_source, "rows": len(spec.baseline),
                     "weights": list(spec.baseline_weights)},
        **result.stats,
        "failed_records": [{"row": r.row, "reason": r.error} for r in result.records if r.error is not None],
        "seconds": {"text_shap": round(time.perf_counter() - started, 3)},
    }
    return TextJobResult(result=result, labels=tuple(labels), section=section, standard_error_section=se_section,
                         manifest=manifest, joinsource=joinsource)
