"""What one bias stage computes, resolved from the config by the job planner."""

from __future__ import annotations

from dataclasses import dataclass

from clarify_engine.bias._report import FacetSpec

__all__ = ["BiasSpec"]


@dataclass(frozen=True)
class BiasSpec:
    """One bias stage (pre- or post-training) of a job.

    Attributes
    ----------
    stage : {"pre_training", "post_training"}
    methods : tuple of str
        Metric names, in the order the config lists them (``"all"`` expanded).
    label : str
        Label column.
    label_values : tuple
        ``label_values_or_threshold``: positive label values or a threshold.
    facets : tuple of FacetSpec
    group_variable : str or None
        Column of the subgroups of CDDL/CDDPL.
    predicted_label : str or None
        Predicted-label column of the dataset; None for a post-training stage means the
        labels come from the model.
    probability_threshold : float or None
        Turns scores in the dataset's predicted-label column into labels (None: the
        column holds labels).
    column_typing : {"clarify", "intent"}
    """

    stage: str
    methods: tuple[str, ...]
    label: str
    label_values: tuple
    facets: tuple[FacetSpec, ...]
    group_variable: str | None = None
    predicted_label: str | None = None
    probability_threshold: float | None = None
    column_typing: str = "clarify"

    @property
    def key(self) -> str:
        """The analysis.json key of this stage's section."""
        return f"{self.stage}_bias_metrics"

    @property
    def method(self) -> str:
        """The ``methods.*`` key that asks for this stage."""
        return f"{self.stage}_bias"
