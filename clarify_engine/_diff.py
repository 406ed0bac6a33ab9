"""``clarify-engine diff OLD NEW``: what moved between two analysis.json files, and CI gates.

Both files may be ours or SageMaker Clarify's (only the whole-dataset bias sections then).
Every bias metric is identified by where it is (the whole dataset, a segment of
``segment_analysis``, or ``intersectional_bias_metrics``), its stage, facet, facet value and
name; the two files are matched on that key. Bootstrap intervals
(``bias_confidence_intervals``) are shown when a file has them.

Gates (each makes the command exit with :data:`GATE_FAILED`):

* ``--fail-if "DPPL>0.1"``: a metric of NEW beyond a bound (``>``, ``>=``, ``<``, ``<=``;
  ``|DPPL|>0.1`` compares the absolute value); a metric name of ``*`` means every metric;
* ``--fail-on-regression``: a metric of NEW further from its fair value (1 for DI, 0 for every
  other metric) than in OLD by more than ``--tolerance``; when both files have intervals the
  move counts only if the two intervals do not overlap (the change is not within the noise).
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarify_engine.errors import DataError

__all__ = ["Condition", "DiffResult", "MetricPoint", "Change", "GATE_FAILED", "diff_analyses", "load_points",
           "parse_condition"]

#: Exit code of ``diff`` when a gate fails (1 is a usage or input error).
GATE_FAILED = 3

WHOLE = "all rows"
STAGES = {"pre_training_bias_metrics": "pre", "post_training_bias_metrics": "post"}
#: The value of a metric when the groups are treated alike.
FAIR = {"DI": 1.0}

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_CONDITION = re.compile(r"^\s*(\|?)\s*([A-Za-z*]+)\s*(\|?)\s*(>=|<=|>|<)\s*([-+0-9.eE]+|-?inf)\s*$")


@dataclass(frozen=True)
class MetricPoint:
    """One metric of one analysis.json."""

    scope: str
    stage: str
    facet: str
    value_or_threshold: str
    name: str
    value: float | None
    error: str | None = None
    interval: tuple[float, float] | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return self.scope, self.stage, self.facet, self.value_or_threshold, self.name

    @property
    def where(self) -> str:
        return f"[{self.scope}] {self.stage} {self.name} {self.facet}={self.value_or_threshold}"


@dataclass(frozen=True)
class Condition:
    """A ``--fail-if`` bound: ``metric op threshold`` (on the absolute value with ``|metric|``)."""

    text: str
    metric: str
    op: str
    threshold: float
    absolute: bool = False

    def hit(self, point: MetricPoint) -> bool:
        if point.value is None or (self.metric != "*" and point.name != self.metric):
            return False
        value = abs(point.value) if self.absolute else point.value
        return _OPS[self.op](value, self.threshold)


def parse_condition(text: str) -> Condition:
    """``"DPPL>0.1"``, ``"DI<0.8"``, ``"|DPL|>=0.2"``, ``"*>1"`` → :class:`Condition`.

    Raises
    ------
    ValueError
        Text of another form.
    """
    m = _CONDITION.match(text)
    if m is None or m.group(1) != m.group(3):
        raise ValueError(f"cannot read the condition {text!r}; write METRIC OP NUMBER such as \"DPPL>0.1\", "
                         "\"DI<0.8\" or \"|DPL|>=0.2\" (OP one of >, >=, <, <=)")
    bar, metric, _, op, number = m.groups()
    return Condition(text.strip(), metric.upper() if metric != "*" else "*", op, float(number), bool(bar))


@dataclass(frozen=True)
class Change:
    """A metric present in OLD and/or NEW."""

    old: MetricPoint | None
    new: MetricPoint | None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None or self.old.value is None or self.new.value is None:
            return None
        if math.isinf(self.old.value) or math.isinf(self.new.value):
            return None if self.old.value == self.new.value else math.nan
        return self.new.value - self.old.value

    @property
    def changed(self) -> bool:
        if self.old is None or self.new is None:
            return True
        if (self.old.value is None) != (self.new.value is None):
            return True
        if self.old.value is None:
            return self.old.error != self.new.error
        return self.old.value != self.new.value

    def regressed(self, tolerance: float) -> bool:
        """NEW further from the fair value than OLD by more than ``tolerance`` (not within both intervals)."""
        if self.old is None or self.new is None or self.old.value is None or self.new.value is None:
            return False
        fair = FAIR.get(self.new.name, 0.0)
        worse = abs(self.new.value - fair) - abs(self.old.value - fair)
        if not worse > tolerance:
            return False
        a, b = self.old.interval, self.new.interval
        if a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]:
            return False  # the intervals overlap: the move is within the noise
        return True


@dataclass(frozen=True)
class DiffResult:
    """Every matched metric, and the gates that failed."""

    changes: tuple[Change, ...]
    failures: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def lines(self, show_all: bool = False) -> list[str]:
        out = []
        for c in self.changes:
            if c.changed or show_all:
                out.append(_describe(c))
        n_changed = sum(c.changed for c in self.changes)
        added = sum(c.old is None for c in self.changes)
        removed = sum(c.new is None for c in self.changes)
        out.append(f"{len(self.changes)} metrics compared: {n_changed - added - removed} changed, {added} added, "
                   f"{removed} removed")
        out += [f"FAIL: {f}" for f in self.failures]
        return out


def _fmt(v: float | None) -> str:
    if v is None:
        return "none"
    return "Infinity" if v == math.inf else "-Infinity" if v == -math.inf else f"{v:.6g}"


def _fmt_interval(point: MetricPoint | None) -> str:
    return "" if point is None or point.interval is None else f" [{_fmt(point.interval[0])}, {_fmt(point.interval[1])}]"


def _describe(c: Change) -> str:
    if c.old is None:
        return f"{c.new.where}: added, {_fmt(c.new.value)}{_fmt_interval(c.new)}"
    if c.new is None:
        return f"{c.old.where}: removed (was {_fmt(c.old.value)})"
    if c.new.value is None and c.old.value is not None:
        return f"{c.new.where}: {_fmt(c.old.value)} -> no value ({c.new.error})"
    if c.old.value is None and c.new.value is not None:
        return f"{c.new.where}: no value ({c.old.error}) -> {_fmt(c.new.value)}"
    if c.new.value is None:
        return f"{c.new.where}: no value ({c.old.error} -> {c.new.error})"
    delta = c.delta
    moved = "" if delta is None or math.isnan(delta) else f" ({delta:+.6g})"
    return (f"{c.new.where}: {_fmt(c.old.value)}{_fmt_interval(c.old)} -> {_fmt(c.new.value)}"
            f"{_fmt_interval(c.new)}{moved}")


# ------------------------------------------------------------------ reading


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where}: expected a number, null, \"Infinity\" or \"-Infinity\", found {value!r}")
    return float(value)


def _intervals(block: Any, stage_key: str) -> dict[tuple[str, str, str], tuple[float, float]]:
    out = {}
    if not isinstance(block, dict):
        return out
    for facet, entries in ((block.get(stage_key) or {}).get("facets") or {}).items():
        for entry in entries:
            for m in entry.get("metrics", ()):
                if m.get("lower") is not None and m.get("upper") is not None:
                    out[facet, str(entry.get("value_or_threshold")), m["name"]] = (float(m["lower"]), float(m["upper"]))
    return out


def _section_points(section: Any, scope: str, stage_key: str, intervals: Any, where: str) -> list[MetricPoint]:
    if not isinstance(section, dict) or not isinstance(section.get("facets"), dict):
        raise DataError(f"{where}: expected a bias section with a \"facets\" object; found {type(section).__name__}")
    found = _intervals(intervals, stage_key)
    points = []
    for facet, entries in section["facets"].items():
        for i, entry in enumerate(entries):
            text = str(entry.get("value_or_threshold"))
            for j, m in enumerate(entry.get("metrics", ())):
                at = f"{where}.facets.{facet}[{i}].metrics[{j}]"
                if not isinstance(m, dict) or "name" not in m:
                    raise DataError(f"{at}: expected a metric object with a \"name\"; found {m!r}")
                points.append(MetricPoint(scope, STAGES[stage_key], facet, text, m["name"],
                                          _number(m.get("value"), at), m.get("error"),
                                          found.get((facet, text, m["name"]))))
    return points


def _sections(doc: dict, scope: str, where: str) -> list[MetricPoint]:
    points = []
    for key in STAGES:
        if key in doc:
            points += _section_points(doc[key], scope, key, doc.get("bias_confidence_intervals"), f"{where}.{key}")
    return points


def load_points(path: str | Path) -> list[MetricPoint]:
    """Every bias metric of an analysis.json (ours or Clarify's).

    Raises
    ------
    DataError
        The file is missing, not JSON, or not an analysis.json.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file; give the path of an analysis.json")
    try:
        doc = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a JSON file ({exc}); give the path of an analysis.json") from None
    if not isinstance(doc, dict) or not ({"version", *STAGES, "explanations"} & set(doc)):
        raise DataError(f"{p}: not an analysis.json (no version, bias or explanations key); give the analysis.json "
                        "a Clarify or clarify-engine job wrote")
    points = _sections(doc, WHOLE, str(p))
    for i, seg in enumerate(doc.get("segment_analysis") or ()):
        name = seg.get("config_name", f"segment_config_{i}")
        for s in seg.get("segments", ()):
            label = s.get("display_alias") or (s["segment"] if isinstance(s.get("segment"), str)
                                               else ",".join(map(str, s.get("segment", ()))))
            points += _sections(s, f"segment {name}/{label}", f"{p}.segment_analysis[{i}]")
    inter = doc.get("intersectional_bias_metrics")
    if isinstance(inter, dict):
        points += _sections(inter, "intersections", f"{p}.intersectional_bias_metrics")
    return points


def diff_analyses(old: str | Path, new: str | Path, *, conditions: tuple[Condition, ...] = (),
                  fail_on_regression: bool = False, tolerance: float = 0.0) -> DiffResult:
    """Match the metrics of two analysis.json files and apply the gates.

    Parameters
    ----------
    old, new : path
    conditions : tuple of Condition
        ``--fail-if`` bounds, checked on NEW.
    fail_on_regression : bool
        Fail when a metric moved away from its fair value by more than ``tolerance``.
    tolerance : float
        Largest move away from the fair value that is not a regression.
    """
    before = {p.key: p for p in load_points(old)}
    after = {p.key: p for p in load_points(new)}
    keys = list(before) + [k for k in after if k not in before]
    changes = tuple(Change(before.get(k), after.get(k)) for k in keys)
    failures = []
    for c in changes:
        if c.new is None:
            continue
        for cond in conditions:
            if cond.hit(c.new):
                failures.append(f"{c.new.where} = {_fmt(c.new.value)} meets {cond.text}")
        if fail_on_regression and c.regressed(tolerance):
            fair = FAIR.get(c.new.name, 0.0)
            failures.append(f"{c.new.where} moved away from {fair:g}: {_fmt(c.old.value)} -> {_fmt(c.new.value)}"
                            f" (tolerance {tolerance:g})")
    return DiffResult(changes, tuple(failures))
