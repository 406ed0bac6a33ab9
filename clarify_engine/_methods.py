"""The analysis methods a config can request, in the order a job runs them, and those this
version validates but does not compute yet.

A light module (no numeric imports) so that ``run.plan`` and the config-only ``validate``
read one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: ``methods.*`` keys that start a computation, in job order (``report`` is written after them).
METHODS = ("pre_training_bias", "post_training_bias", "shap", "pdp", "asymmetric_shapley_value")

#: Methods this engine validates but does not compute yet, with the reason.
NOT_YET = {
    "asymmetric_shapley_value": "time-series asymmetric Shapley values are not implemented yet",
}


def requested(config: Any) -> list[str]:
    """The methods ``config`` (an :class:`~clarify_engine.config.AnalysisConfig`) asks for, in job order."""
    return [name for name in METHODS if getattr(config.methods, name, None) is not None]


@dataclass(frozen=True)
class NotRun:
    """A requested part of the analysis that was not (or would not be) computed, and why."""

    method: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"method": self.method, "reason": self.reason}
