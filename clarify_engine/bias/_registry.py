"""The one catalogue of bias metrics: name, stage, description, inputs and function.

Every list of metric names derives from :data:`METRICS`: the config's method lists
(``clarify_engine.config._constants``), ``methods: "all"``, the report and the array-level
call. Adding a metric is one row here plus its function.

This module imports no numpy, so the config-only ``validate`` path stays light: a row names
the module of its function, which is imported when :attr:`Metric.fn` is first read.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

__all__ = [
    "FEATURES",
    "GROUP",
    "LABEL",
    "METRICS",
    "POSTTRAINING_METRICS",
    "POST_TRAINING",
    "PREDICTED_LABEL",
    "PRETRAINING_METRICS",
    "PRE_TRAINING",
    "STAGES",
    "Metric",
    "resolve_methods",
    "stage_metrics",
]

PRE_TRAINING = "pre_training"
POST_TRAINING = "post_training"
STAGES = (PRE_TRAINING, POST_TRAINING)

#: Inputs a metric reads besides the facet: the observed label, the predicted label, the
#: group variable (CDDL/CDDPL) and the feature rows (FT).
LABEL, PREDICTED_LABEL, GROUP, FEATURES = "label", "predicted_label", "group", "features"

_COUNTS = "clarify_engine.bias._metrics"
_FLIP = "clarify_engine.bias._flip"


@dataclass(frozen=True)
class Metric:
    """One bias metric of the catalogue.

    Attributes
    ----------
    name : str
        Clarify's abbreviation (``"DPPL"``), also the function's name.
    stage : {"pre_training", "post_training"}
        The config section that lists it.
    description : str
        The exact ``description`` string Clarify writes in analysis.json (spelling quirks
        included).
    needs : tuple of str
        Inputs read besides the facet: :data:`LABEL`, :data:`PREDICTED_LABEL`,
        :data:`GROUP`, :data:`FEATURES`.
    module : str
        Module that defines the function.
    """

    name: str
    stage: str
    description: str
    needs: tuple[str, ...]
    module: str = _COUNTS

    @property
    def fn(self) -> Callable[..., float]:
        """The metric function: ``fn(FacetCounts) -> float``, or for FT
        ``fn(features, sensitive, pred_pos) -> float``."""
        return getattr(importlib.import_module(self.module), self.name)

    @property
    def needs_features(self) -> bool:
        """Whether the metric reads feature rows, not only counts (FT)."""
        return FEATURES in self.needs


def _rows(stage: str, rows: Iterable[tuple]) -> list[Metric]:
    return [Metric(name, stage, description, needs, *rest) for name, description, needs, *rest in rows]


_PRE = _rows(PRE_TRAINING, [
    ("CDDL", "Conditional Demographic Disparity in Labels (CDDL)", (LABEL, GROUP)),
    ("CI", "Class Imbalance (CI)", ()),
    ("DPL", "Difference in Positive Proportions in Labels (DPL)", (LABEL,)),
    ("JS", "Jensen-Shannon Divergence (JS)", (LABEL,)),
    ("KL", "Kullback-Liebler Divergence (KL)", (LABEL,)),
    ("KS", "Kolmogorov-Smirnov Distance (KS)", (LABEL,)),
    ("LP", "L-p Norm (LP)", (LABEL,)),
    ("TVD", "Total Variation Distance (TVD)", (LABEL,)),
])  # fmt: skip

_POST = _rows(POST_TRAINING, [
    ("AD", "Accuracy Difference (AD)", (LABEL, PREDICTED_LABEL)),
    ("CDDPL", "Conditional Demographic Disparity in Predicted Labels (CDDPL)", (PREDICTED_LABEL, GROUP)),
    ("DAR", "Difference in Acceptance Rates (DAR)", (LABEL, PREDICTED_LABEL)),
    ("DCA", "Difference in Conditional Acceptance (DCA)", (LABEL, PREDICTED_LABEL)),
    ("DCR", "Difference in Conditional Rejection (DCR)", (LABEL, PREDICTED_LABEL)),
    ("DI", "Disparate Impact (DI)", (PREDICTED_LABEL,)),
    ("DPPL", "Difference in Positive Proportions in Predicted Labels (DPPL)", (PREDICTED_LABEL,)),
    ("DRR", "Difference in Rejection Rates (DRR)", (LABEL, PREDICTED_LABEL)),
    ("FT", "Flip Test (FT)", (PREDICTED_LABEL, FEATURES), _FLIP),
    ("GE", "Generalized Entropy (GE)", (LABEL, PREDICTED_LABEL)),
    ("RD", "Recall Difference (RD)", (LABEL, PREDICTED_LABEL)),
    ("SD", "Specificity Difference (SD)", (LABEL, PREDICTED_LABEL)),
    ("TE", "Treatment Equality (TE)", (LABEL, PREDICTED_LABEL)),
])  # fmt: skip

#: Every metric by abbreviation: pre-training then post-training, each sorted by name
#: (the order Clarify reports them in).
METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in (*_PRE, *_POST)})

#: Metrics of ``methods: "all"`` before training, sorted by name.
PRETRAINING_METRICS: tuple[str, ...] = tuple(m.name for m in _PRE)
#: Metrics of ``methods: "all"`` after training, sorted by name.
POSTTRAINING_METRICS: tuple[str, ...] = tuple(m.name for m in _POST)


def stage_metrics(stage: str) -> tuple[str, ...]:
    """The metric names of ``stage``, sorted.

    Raises
    ------
    ValueError
        If ``stage`` is not ``"pre_training"`` or ``"post_training"``.
    """
    if stage == PRE_TRAINING:
        return PRETRAINING_METRICS
    if stage == POST_TRAINING:
        return POSTTRAINING_METRICS
    raise ValueError(f"stage must be 'pre_training' or 'post_training'; found {stage!r}")


def resolve_methods(methods: str | Iterable[str] | None, allowed: Iterable[str], *, kind: str = "",
                    argument: str = "methods") -> tuple[str, ...]:
    """The metric names ``methods`` asks for, in catalogue order, each once.

    Parameters
    ----------
    methods : "all", list of str or None
        ``"all"`` (or ``["all"]``, or None) selects every name in ``allowed``.
    allowed : iterable of str
        The names this call can compute (a stage's metrics, or every metric).
    kind : str
        What ``allowed`` holds, for the message (``"pre_training"``).
    argument : str
        The argument's name, for the message (``"methods"``, ``"metrics"``).

    Raises
    ------
    ValueError
        If ``methods`` is neither "all" nor a list of names from ``allowed``; the message
        lists the allowed names.
    """
    allowed = tuple(allowed)
    if methods is None or methods == "all" or methods == ["all"]:
        return allowed
    if isinstance(methods, str) or not all(isinstance(m, str) for m in methods):
        raise ValueError(f"{argument} must be 'all' or a list of metric names; found {methods!r}")
    asked = list(dict.fromkeys(methods))
    unknown = [m for m in asked if m not in allowed]
    if unknown:
        what = f"{kind} metric(s)" if kind else "metric(s)"
        raise ValueError(f"{argument}: unknown {what} {unknown}; expected names from {list(allowed)}")
    return tuple(m for m in METRICS if m in asked)
