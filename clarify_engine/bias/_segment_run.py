"""Per-segment bias: every segment of every segmentation from one count pass per facet and stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clarify_engine.bias._grouped import BiasResult, grouped_bias_stages
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.bias._segments import DEFAULT_SEGMENT, SegmentSpec, segment_keys

__all__ = ["SegmentResult", "SegmentationResult", "segment_bias"]


@dataclass(frozen=True)
class SegmentResult:
    """Bias of one segment.

    Attributes
    ----------
    segment : tuple or str
        The segment's items as written, or ``"__default__"``.
    display_alias : str
    num_records : int
        Rows in the segment.
    sections : tuple of BiasResult
        One per requested stage, in the order requested.
    """

    segment: tuple | str
    display_alias: str
    num_records: int
    sections: tuple[BiasResult, ...]


@dataclass(frozen=True)
class SegmentationResult:
    """The segments of one ``segment_config`` item, listed segments first, ``__default__`` last."""

    config_name: str
    name_or_index: str | int
    segments: tuple[SegmentResult, ...]


def segment_bias(frame: pd.DataFrame, requests: list[BiasSpec], spec: SegmentSpec,
                 segment_frame: pd.DataFrame | None = None) -> tuple[SegmentationResult, ...]:
    """Bias metrics of every segment of ``spec``, for every stage in ``requests``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset with the label, facet, predicted-label, group and segment columns.
    requests : list of BiasSpec
        The bias stages to compute (pre- and/or post-training), as for the whole dataset.
    spec : SegmentSpec
    segment_frame : pandas.DataFrame, optional
        Frame holding the segment columns, row-aligned with ``frame`` (default ``frame``).

    Returns
    -------
    tuple of SegmentationResult
        In config order.

    Notes
    -----
    The rows get one key (their atom: the segments they belong to over all segmentations) and
    each stage counts every facet once with that key as an extra grouping axis; a segment is
    the sum of its atoms' counts. A segment's metrics equal the whole-dataset metrics computed
    on that segment's rows alone.
    """
    source = frame if segment_frame is None else segment_frame
    if len(source) != len(frame):
        raise ValueError(f"segment_frame has {len(source)} rows; expected {len(frame)} (one per row of frame)")
    keys = segment_keys(source, spec)
    groups: list[np.ndarray] = [m for members in keys.members for m in members]
    sizes = np.bincount(keys.keys, minlength=keys.n_atoms)
    per_stage = grouped_bias_stages(frame, requests, keys.keys, keys.n_atoms, groups)
    out, j = [], 0
    for seg in spec.segmentations:
        results = []
        listed = [(s.items, s.alias) for s in seg.segments] + [(DEFAULT_SEGMENT, seg.default_alias)]
        for items, alias in listed:
            n = int(sizes[groups[j]].sum())
            results.append(SegmentResult(items, alias, n, tuple(stage[j] for stage in per_stage)))
            j += 1
        out.append(SegmentationResult(seg.config_name, seg.name_or_index, tuple(results)))
    return tuple(out)
