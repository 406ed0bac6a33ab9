"""Outputs of a text SHAP job: ``explanations_shap/out.jsonl`` and the analysis.json section.

``out.jsonl`` (Clarify's shape, read back by the public text notebooks): one JSON object per
record in input order, ``{"explanations": [...]}`` plus ``"join_source_value"`` when the job
has a join key. ``explanations`` holds one object per feature in model order::

    {"feature_name": "Comments", "data_type": "free_text",
     "attributions": [{"attribution": [v_label0, v_label1, ...],
                       "description": {"partial_text": "love", "start_idx": 7}}, ...]}
    {"feature_name": "Rating", "data_type": "numerical", "attributions": [{"attribution": [...]}]}

A record the job could not explain has ``"explanations": []`` and an ``"error"`` key (an
extension; the other records are complete). ``out_standard_errors.jsonl`` (extension) has the
same layout with the standard error of each value (``null`` where no bound can be given).

``explanations.kernel_shap.<label>`` holds ``global_shap_values`` (tabular features only),
``expected_value`` and ``global_top_shap_text: {column: {unit: value}}`` (largest first);
``explanations.kernel_shap_standard_errors.<label>`` (extension) the standard errors of both.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from clarify_engine._io import atomic_write
from clarify_engine.explain.text import TextShapResult, global_tabular, top_units

__all__ = ["LOCAL_JSONL", "STANDARD_ERRORS_JSONL", "local_lines", "text_manifest", "text_sections",
           "write_text_outputs"]

LOCAL_JSONL = "out.jsonl"
STANDARD_ERRORS_JSONL = "out_standard_errors.jsonl"
SHAP_DIR = "explanations_shap"


def _num(value) -> float | None:
    """A JSON number, or null for inf / NaN (analysis.json and out.jsonl hold no inf)."""
    value = float(value)
    return value if math.isfinite(value) else None


def local_lines(result: TextShapResult, joinsource: Sequence | None = None, *,
                standard_errors: bool = False) -> list[dict]:
    """The objects of ``out.jsonl`` (or of ``out_standard_errors.jsonl``), one per record."""
    lines = []
    for record in result.records:
        feats = []
        for feat in record.features:
            table = feat.standard_errors if standard_errors else feat.values
            if feat.data_type == "free_text":
                attributions = [
                    {"attribution": [_num(v) for v in row],
                     "description": {"partial_text": unit, "start_idx": int(start)}}
                    for row, unit, start in zip(table, feat.units, feat.starts)]
            else:
                attributions = [{"attribution": [_num(v) for v in table[0]]}]
            feats.append({"feature_name": feat.name, "data_type": feat.data_type, "attributions": attributions})
        line = {"explanations": feats}
        if joinsource is not None:
            value = joinsource[record.row]
            line["join_source_value"] = value.item() if isinstance(value, np.generic) else value
        if record.error is not None:
            line["error"] = record.error
        lines.append(line)
    return lines


def _jsonl(lines: list[dict]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n" for line in lines)


def write_text_outputs(output_dir, result: TextShapResult, joinsource: Sequence | None = None) -> list[Path]:
    """Write ``explanations_shap/out.jsonl`` and ``out_standard_errors.jsonl`` into ``output_dir``.

    ``joinsource`` (one value per record) defaults to the result's ``record_ids``.

    Returns
    -------
    list of pathlib.Path
        The files written (each atomically).
    """
    folder = Path(output_dir) / SHAP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if joinsource is None:
        joinsource = result.record_ids
    return [atomic_write(folder / LOCAL_JSONL, _jsonl(local_lines(result, joinsource))),
            atomic_write(folder / STANDARD_ERRORS_JSONL,
                         _jsonl(local_lines(result, joinsource, standard_errors=True)))]


def text_sections(result: TextShapResult, labels: Sequence[str], agg_method: str, max_top_tokens: int
                  ) -> tuple[dict, dict]:
    """``explanations.kernel_shap`` and its standard-error extension for a text job.

    Parameters
    ----------
    result : TextShapResult
    labels : sequence of str
        One name per model output (``label0``... or the predictor's label headers).
    agg_method : {"mean_abs", "median", "mean_sq"}
    max_top_tokens : int

    Returns
    -------
    section, se_section : dict
    """
    if len(labels) != result.n_outputs:
        raise ValueError(f"{len(labels)} labels for {result.n_outputs} model outputs")
    names, glob, glob_se = global_tabular(result, agg_method)
    tops = top_units(result, agg_method, max_top_tokens)
    section, se_section = {}, {}
    for k, label in enumerate(labels):
        label = str(label)
        section[label] = {"global_shap_values": {f: float(glob[j, k]) for j, f in enumerate(names)},
                          "expected_value": float(result.expected_value[k]),
                          "global_top_shap_text": {}}
        se_section[label] = {"global_shap_values": {f: _num(glob_se[j, k]) for j, f in enumerate(names)},
                             "global_top_shap_text": {}}
    for top in tops:
        label = str(labels[top.output])
        section[label]["global_top_shap_text"][top.column] = dict(zip(top.units, top.values))
        se_section[label]["global_top_shap_text"][top.column] = {
            u: _num(s) for u, s in zip(top.units, top.standard_errors)}
    return section, se_section


def text_manifest(result: TextShapResult, labels: Sequence[str], calls: Any = None) -> dict:
    """The ``kernel_shap`` entry of ``run_manifest.json`` for a text job.

    Parameters
    ----------
    result : TextShapResult
        With its ``spec``.
    labels : sequence of str
    calls : StageCalls, optional
        The stage's model calls (rows, calls, seconds), counted by the job's model meter.
    """
    spec = result.spec
    entry = {
        "text": {"granularity": spec.granularity, "language": spec.language,
                 "text_columns": list(spec.text_columns), "max_top_tokens": spec.max_top_tokens},
        "labels": [str(x) for x in labels], "agg_method": spec.agg_method, "link": spec.link, "seed": spec.seed,
        "num_samples": spec.num_samples if spec.num_samples is not None else "auto: min(2M + 2048, 2^M - 2) per record",
        "baseline": {"source": spec.baseline_source, "rows": len(spec.baseline),
                     "weights": list(spec.baseline_weights)},
        **result.stats,
        "failed_records": [{"row": r.row, "reason": r.error} for r in result.records if r.error is not None],
    }
    if calls is not None:
        entry["model_calls_counted"] = calls.to_dict()
    return entry
