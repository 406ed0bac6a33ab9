"""The report a job writes, resolved from the config by the job planner."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReportSpec"]


@dataclass(frozen=True)
class ReportSpec:
    """``methods.report``: the report's file base name and title, and the label's positive
    values for its summary (None when the config gives none)."""

    name: str
    title: str
    label_values: tuple | None = None
