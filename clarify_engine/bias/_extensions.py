"""What the bias stage computes beyond Clarify's sections: segments, intervals, intersections."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from clarify_engine.bias._bootstrap import BootstrapSpec, with_intervals
from clarify_engine.bias._grouped import BiasResult, grouped_bias_stages
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._intersect import IntersectionSpec, intersectional_bias
from clarify_engine.bias._segment_run import SegmentationResult, segment_bias
from clarify_engine.bias._segments import SegmentSpec

__all__ = ["BiasExtensions", "bias_extensions"]


@dataclass(frozen=True)
class BiasExtensions:
    """Typed results of the extensions (each None / empty when not requested).

    Attributes
    ----------
    segments : tuple of SegmentationResult or None
        With intervals on their metrics when ``bootstrap`` is set.
    whole : tuple of BiasResult or None
        The whole-dataset sections with intervals (only when ``bootstrap`` is set).
    intersections : tuple of BiasResult
        One per (intersection, stage).
    bootstrap : BootstrapSpec or None
    min_group_size : dict
        Per intersection name.
    """

    segments: tuple[SegmentationResult, ...] | None = None
    whole: tuple[BiasResult, ...] | None = None
    intersections: tuple[BiasResult, ...] = ()
    bootstrap: BootstrapSpec | None = None
    min_group_size: dict | None = None


def bias_extensions(frame: pd.DataFrame, requests: list[BiasSpec], *, segments: SegmentSpec | None = None,
                    bootstrap: BootstrapSpec | None = None, intersections: tuple[IntersectionSpec, ...] = (),
                    segment_frame: pd.DataFrame | None = None) -> BiasExtensions:
    """Per-segment bias, bootstrap intervals and intersectional facets of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The columns the bias stage sees (as for :func:`~clarify_engine.bias.bias_section`).
    requests : list of BiasSpec
        The bias stages to compute.
    segments, bootstrap, intersections
        Resolved by :func:`clarify_engine.job._plan_segments.plan_segments`.
    segment_frame : pandas.DataFrame, optional
        Frame holding the segment columns, and intersection columns missing from ``frame``,
        row-aligned with ``frame`` (default ``frame``); such a column need not be a feature
        (FT reads every column of ``frame``).
    """
    seg_results = None
    if segments is not None:
        seg_results = segment_bias(frame, requests, segments, segment_frame)
        if bootstrap is not None:
            seg_results = _segments_with_intervals(seg_results, bootstrap)
    whole = None
    if bootstrap is not None:
        ones = np.zeros(len(frame), dtype=np.int64)
        sections = grouped_bias_stages(frame, requests, ones, 1, [np.array([True])])
        whole = tuple(with_intervals(s[0], bootstrap, k) for k, s in enumerate(sections))
    inter = []
    for i, spec in enumerate(intersections):
        extra = [c for c in spec.columns if c not in frame.columns and segment_frame is not None
                 and c in segment_frame.columns]
        with_columns = frame.join(segment_frame[extra]) if extra else frame
        for k, req in enumerate(requests):
            result = intersectional_bias(with_columns, req, spec)
            if bootstrap is not None:
                result = with_intervals(result, bootstrap, 1000 + i * len(requests) + k)
            inter.append(result)
    sizes = {spec.display_name: spec.min_group_size for spec in intersections}
    return BiasExtensions(seg_results, whole, tuple(inter), bootstrap, sizes)


def _segments_with_intervals(results: tuple[SegmentationResult, ...], spec: BootstrapSpec
                             ) -> tuple[SegmentationResult, ...]:
    out, stream = [], 10_000
    for seg in results:
        segs = []
        for s in seg.segments:
            sections = []
            for section in s.sections:
                sections.append(with_intervals(section, spec, stream))
                stream += 1
            segs.append(replace(s, sections=tuple(sections)))
        out.append(replace(seg, segments=tuple(segs)))
    return tuple(out)
