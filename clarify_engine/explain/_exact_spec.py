"""Whether a SHAP job may take an exact path (resolved by ``clarify_engine.job._plan_exact``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExactSpec"]


@dataclass(frozen=True)
class ExactSpec:
    """Whether the job may use an exact SHAP path (:mod:`clarify_engine.explain._exact`).

    Attributes
    ----------
    allowed : bool
        True: an exact path runs when one applies (``methods.shap.exact`` absent, ``"auto"`` or
        true). False: Kernel SHAP always.
    why_not : str or None
        When not allowed, why (recorded in the run manifest).
    """

    allowed: bool = True
    why_not: str | None = None
