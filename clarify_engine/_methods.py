"""The analysis methods a config can request, in the order a job runs them, and those this
version validates but does not compute yet.

A light module (no numeric imports) so that ``run.plan`` and the config-only ``validate``
read one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clarify_engine.errors import NotSupportedError

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


def split(config: Any) -> tuple[list[str], list[NotRun]]:
    """The requested methods this version runs, and those it cannot with the reason, from the config alone.

    Raises
    ------
    NotSupportedError
        Nothing requested can run.
    """
    runnable: list[str] = []
    not_run: list[NotRun] = []
    for name in requested(config):
        if name in NOT_YET:
            not_run.append(NotRun(name, NOT_YET[name]))
        else:
            runnable.append(name)
    if "pdp" in runnable and config.methods.pdp.features is None and "shap" not in runnable:
        runnable.remove("pdp")
        not_run.append(NotRun("pdp", "methods.pdp lists no features and picks the top_k_features by global SHAP, "
                                     "but SHAP did not run; list methods.pdp.features to plot them"))
    bias_run = any(name in runnable for name in ("pre_training_bias", "post_training_bias"))
    for key in ("segment_config", "bias_confidence_intervals", "intersectional_facets"):
        if getattr(config, key, None) is not None and not bias_run:
            not_run.append(NotRun(key, f"{key} applies to the bias metrics, and no bias method runs; add "
                                       "methods.pre_training_bias or methods.post_training_bias"))
    if not runnable:
        reasons = "; ".join(f"{n.method}: {n.reason}" for n in not_run) or "no method requested"
        raise NotSupportedError(f"none of the requested methods can run ({reasons})")
    return runnable, not_run
