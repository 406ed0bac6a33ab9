"""Config → resolved specs for per-segment bias, bootstrap intervals and intersectional facets.

The one place ``segment_config``, ``bias_confidence_intervals`` and ``intersectional_facets``
are read; the engines (``bias/_segment_run.py``, ``bias/_bootstrap.py``, ``bias/_intersect.py``)
take the frozen specs built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from clarify_engine.bias._bootstrap import BootstrapSpec
from clarify_engine.bias._intersect import IntersectionSpec
from clarify_engine.bias._segments import DEFAULT_SEGMENT, Segment, Segmentation, SegmentSpec, parse_interval
from clarify_engine.errors import ConfigError, DataError

__all__ = ["SegmentsPlan", "plan_segments"]


@dataclass(frozen=True)
class SegmentsPlan:
    """What the bias stage computes beyond Clarify's whole-dataset sections.

    Attributes
    ----------
    segments : SegmentSpec or None
    bootstrap : BootstrapSpec or None
    intersections : tuple of IntersectionSpec
    """

    segments: SegmentSpec | None = None
    bootstrap: BootstrapSpec | None = None
    intersections: tuple[IntersectionSpec, ...] = ()

    @property
    def empty(self) -> bool:
        return self.segments is None and self.bootstrap is None and not self.intersections


def _column(name_or_index: str | int, columns: Sequence[str], headers: Sequence[str] | None, path: str,
            what: str) -> str:
    """The column a ``name_or_index`` names: a name in ``columns``, or an index into ``headers``."""
    if isinstance(name_or_index, int):
        pool = list(headers) if headers else list(columns)
        if name_or_index < len(pool):
            return str(pool[name_or_index])
    elif name_or_index in columns:
        return name_or_index
    shown = list(columns)[:20]
    raise ConfigError(path, f"Unable to locate the {what} column {name_or_index!r}; the dataset's columns are "
                            f"{shown}. Give a column name from these, or a 0-based index into headers")


def _segmentation(item: Any, index: int, columns: Sequence[str], headers: Sequence[str] | None) -> Segmentation:
    where = f"segment_config[{index}]"
    column = _column(item.name_or_index, columns, headers, f"{where}.name_or_index", "segment")
    kinds = set()
    segments = []
    aliases = list(item.display_aliases or ())
    for s, values in enumerate(item.segments):
        try:
            parsed = [parse_interval(v, f"{where}.segments[{s}]") for v in values]
        except DataError as exc:
            raise ConfigError(f"{where}.segments[{s}]", str(exc).split(": ", 1)[-1]) from None
        is_interval = [p is not None for p in parsed]
        kinds.update(is_interval)
        if len(kinds) > 1:
            raise ConfigError(f"{where}.segments[{s}]",
                              f"mixes interval strings and category values ({list(values)!r}); a segmentation is "
                              "either all intervals such as \"[18, 30)\" (numeric column) or all category values")
        alias = aliases[s] if s < len(aliases) else ",".join(map(str, values))
        segments.append(Segment(tuple(values), alias,
                                tuple(p for p in parsed if p is not None) if all(is_interval) else None))
    default_alias = aliases[len(segments)] if len(aliases) > len(segments) else DEFAULT_SEGMENT
    name = item.config_name or f"segment_config_{index}"
    return Segmentation(name, item.name_or_index, column, tuple(segments), default_alias, where)


def plan_segments(config: Any, columns: Sequence[str]) -> SegmentsPlan:
    """Resolve the config's segment, interval and intersection keys against the dataset's columns.

    Parameters
    ----------
    config : AnalysisConfig
    columns : sequence of str
        Columns of the dataset (main dataset, then facet dataset), as the bias stage sees them.

    Raises
    ------
    ConfigError
        A column that is not in the dataset, or a segmentation mixing intervals and values.
    """
    headers = config.headers
    segments = None
    if config.segment_config:
        segments = SegmentSpec(tuple(_segmentation(item, i, columns, headers)
                                     for i, item in enumerate(config.segment_config)))
    bootstrap = None
    ci = config.bias_confidence_intervals
    if ci is not None:
        bootstrap = BootstrapSpec(n_boot=ci.n_boot_or_default, level=ci.level_or_default, seed=ci.seed_or_default,
                                  weights=ci.weights_or_default)
    intersections = []
    for i, item in enumerate(config.intersectional_facets or ()):
        path = f"intersectional_facets[{i}].name_or_index"
        cols = tuple(_column(c, columns, headers, f"{path}[{k}]", "facet") for k, c in enumerate(item.name_or_index))
        if len(set(cols)) != len(cols):
            raise ConfigError(path, f"names the same column twice ({list(cols)!r}); list each column once")
        intersections.append(IntersectionSpec(cols, item.min_group_size_or_default, item.name))
    return SegmentsPlan(segments, bootstrap, tuple(intersections))
