"""What one bias stage computes, resolved: the engine's input instead of the config.

A :class:`BiasSpec` holds resolved values only (metric names, not ``"all"``); the job planner
(``clarify_engine/job/_plan_bias.py``) builds it from ``analysis_config.json`` and a Python
caller builds it with :meth:`BiasSpec.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from clarify_engine.bias._registry import POST_TRAINING, resolve_methods, stage_metrics

__all__ = ["BiasSpec", "FacetSpec"]

#: ``column_typing`` values: smclarify's dtype-driven typing, or typing by the user's intent.
CLARIFY_TYPING = "clarify"
INTENT_TYPING = "intent"
TYPINGS = (CLARIFY_TYPING, INTENT_TYPING)


@dataclass(frozen=True)
class FacetSpec:
    """One sensitive attribute: a column and, optionally, its sensitive values or threshold.

    Parameters
    ----------
    name : str
        Facet column name.
    values : sequence or None
        ``value_or_threshold``: sensitive values of a categorical facet, or a single exclusive
        lower bound of a continuous one. None (or empty) on a categorical facet → one entry per
        distinct value (one-vs-rest). :meth:`BiasSpec.resolve` stores them as a tuple.
    """

    name: str
    values: Sequence | None = field(default=None)


@dataclass(frozen=True)
class BiasSpec:
    """One bias stage, resolved.

    Attributes
    ----------
    stage : {"pre_training", "post_training"}
    label : str
        Label column.
    label_values : tuple
        ``label_values_or_threshold``: positive label values, or ``(threshold,)``.
    facets : tuple of FacetSpec
        Their values as tuples, so that a spec is hashable.
    methods : tuple of str
        Metric names of the stage, in catalogue order.
    predicted_label : str or None
        Predicted-label column; None after training means "from the model", and the job sets
        it (:meth:`with_predicted_label`) once the model has answered.
    group_variable : str or None
        Group column of CDDL / CDDPL.
    column_typing : {"clarify", "intent"}
        How facet, label and predicted-label columns are typed.
    probability_threshold : float or None
        Turns a predicted-label column of scores in [0, 1] into 0/1 labels (only when the
        predicted labels come with the data).
    """

    stage: str
    label: str
    label_values: tuple
    facets: tuple[FacetSpec, ...]
    methods: tuple[str, ...]
    predicted_label: str | None = None
    group_variable: str | None = None
    column_typing: str = CLARIFY_TYPING
    probability_threshold: float | None = None

    @classmethod
    def resolve(
        cls,
        *,
        label: str,
        label_values: Sequence,
        facets: Sequence[FacetSpec],
        stage: str,
        methods: str | Sequence[str] = "all",
        predicted_label: str | None = None,
        group_variable: str | None = None,
        column_typing: str = CLARIFY_TYPING,
        probability_threshold: float | None = None,
    ) -> BiasSpec:
        """A spec from the arguments of :func:`clarify_engine.bias.bias_section`.

        ``methods`` may be ``"all"`` or a list of names (each kept once, in catalogue order).

        Raises
        ------
        ValueError
            For an unknown stage, metric name or column typing; the message names the
            argument and the choices.
        """
        names = resolve_methods(methods, stage_metrics(stage), kind=stage)
        if column_typing not in TYPINGS:
            raise ValueError(f"column_typing must be one of {TYPINGS}; found {column_typing!r}")
        facets = tuple(FacetSpec(f.name, None if f.values is None else tuple(f.values)) for f in facets)
        return cls(stage, label, tuple(label_values), facets, names, predicted_label, group_variable,
                   column_typing, probability_threshold)

    @property
    def post_training(self) -> bool:
        """Whether the stage compares predictions (post-training)."""
        return self.stage == POST_TRAINING

    def with_predicted_label(self, column: str) -> BiasSpec:
        """This spec reading the predicted labels from ``column`` (added to the frame by the job)."""
        return replace(self, predicted_label=column)
