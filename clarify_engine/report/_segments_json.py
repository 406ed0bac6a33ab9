"""analysis.json extension keys for per-segment bias, bootstrap intervals and intersections.

The whole-dataset sections keep Clarify's exact shape; these results go under keys of
their own (docs/segments.md):

* ``segment_analysis``: one item per ``segment_config`` item, each segment with its
  ``pre_training_bias_metrics`` / ``post_training_bias_metrics`` in Clarify's bias-section shape;
* ``bias_confidence_intervals``: the bootstrap intervals of the whole-dataset metrics, keyed
  like the bias sections (also inside each segment and each intersectional section when computed);
* ``intersectional_bias_metrics``: the bias sections of the intersectional facets.
"""

from __future__ import annotations

from typing import Any

from clarify_engine.bias._bootstrap import BootstrapSpec
from clarify_engine.bias._grouped import BiasResult
from clarify_engine.bias._segment_run import SegmentationResult
from clarify_engine.report._bias_json import json_number

__all__ = ["bias_dict", "extensions_dict", "intervals_dict", "segment_analysis_dict", "intersections_dict", "STAGE_KEYS"]

#: analysis.json key of each bias stage.
STAGE_KEYS = {"pre_training": "pre_training_bias_metrics", "post_training": "post_training_bias_metrics"}


def bias_dict(result: BiasResult) -> dict[str, Any]:
    """Clarify's bias-section shape (``label``, ``facets``, ``label_value_or_threshold``)."""
    facets: dict[str, list] = {}
    for name, entries in result.facets:
        for entry in entries:
            metrics = []
            for m in entry.metrics:
                item: dict[str, Any] = {"name": m.name, "description": m.description,
                                        "value": None if m.value is None else json_number(m.value)}
                if m.error is not None:
                    item["error"] = m.error
                metrics.append(item)
            facets.setdefault(name, []).append({"value_or_threshold": entry.value_or_threshold, "metrics": metrics})
    return {"label": result.label, "facets": facets, "label_value_or_threshold": result.label_value_or_threshold}


def _interval_facets(result: BiasResult) -> dict[str, list]:
    facets: dict[str, list] = {}
    for name, entries in result.facets:
        for entry in entries:
            metrics = []
            for m in entry.metrics:
                iv = m.interval
                if iv is None:
                    continue
                item: dict[str, Any] = {"name": m.name, "lower": iv.lower, "upper": iv.upper,
                                        "failed_replicates": iv.failed}
                if iv.error is not None:
                    item["error"] = iv.error
                metrics.append(item)
            facets.setdefault(name, []).append({"value_or_threshold": entry.value_or_threshold, "metrics": metrics})
    return facets


def intervals_dict(sections: list[BiasResult], spec: BootstrapSpec) -> dict[str, Any]:
    """The ``bias_confidence_intervals`` object of ``sections`` (one per stage)."""
    out: dict[str, Any] = {"method": "bootstrap_percentile", "weights": spec.weights, "n_boot": spec.n_boot,
                           "level": spec.level, "seed": spec.seed}
    for section in sections:
        out[STAGE_KEYS[section.stage]] = {"facets": _interval_facets(section)}
    return out


def _sections(sections: tuple[BiasResult, ...] | list[BiasResult], spec: BootstrapSpec | None) -> dict[str, Any]:
    out: dict[str, Any] = {STAGE_KEYS[s.stage]: bias_dict(s) for s in sections}
    if spec is not None:
        out["bias_confidence_intervals"] = intervals_dict(list(sections), spec)
    return out


def segment_analysis_dict(results: tuple[SegmentationResult, ...], spec: BootstrapSpec | None = None) -> list[dict]:
    """The ``segment_analysis`` list: per segmentation, per segment, its bias sections."""
    out = []
    for seg in results:
        segments = []
        for s in seg.segments:
            item: dict[str, Any] = {"segment": s.segment if isinstance(s.segment, str) else list(s.segment),
                                    "display_alias": s.display_alias, "num_records": s.num_records}
            item.update(_sections(s.sections, spec))
            segments.append(item)
        out.append({"config_name": seg.config_name, "name_or_index": seg.name_or_index, "segments": segments})
    return out


def intersections_dict(sections: list[BiasResult], min_group_size: dict[str, int],
                       spec: BootstrapSpec | None = None) -> dict[str, Any]:
    """The ``intersectional_bias_metrics`` object: bias sections whose facets are intersections.

    ``sections`` holds one result per (intersection, stage); those of one stage are merged into
    one section.
    """
    merged: dict[str, BiasResult] = {}
    for s in sections:
        prior = merged.get(s.stage)
        merged[s.stage] = s if prior is None else BiasResult(s.label, s.label_value_or_threshold,
                                                             prior.facets + s.facets, s.stage)
    out: dict[str, Any] = {"min_group_size": dict(min_group_size)}
    out.update(_sections(list(merged.values()), spec))
    return out


def extensions_dict(ext) -> dict[str, Any]:
    """The top-level analysis.json extension keys of a :class:`~clarify_engine.bias._extensions.BiasExtensions`."""
    out: dict[str, Any] = {}
    if ext.segments is not None:
        out["segment_analysis"] = segment_analysis_dict(ext.segments, ext.bootstrap)
    if ext.whole is not None:
        out["bias_confidence_intervals"] = intervals_dict(list(ext.whole), ext.bootstrap)
    if ext.intersections:
        out["intersectional_bias_metrics"] = intersections_dict(list(ext.intersections), ext.min_group_size or {},
                                                                ext.bootstrap)
    return out
