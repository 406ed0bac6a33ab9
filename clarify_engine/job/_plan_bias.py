"""The bias part of the job plan: ``analysis_config.json`` + the loaded dataset → :class:`BiasSpec` per stage.

The one place the bias engine's settings are read from the config; the engine
(:func:`clarify_engine.bias.bias_report`) takes the spec, never the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clarify_engine.bias._registry import POST_TRAINING, PRE_TRAINING
from clarify_engine.bias._spec import BiasSpec, FacetSpec

if TYPE_CHECKING:
    from clarify_engine.config import AnalysisConfig
    from clarify_engine.data import Dataset

__all__ = ["BIAS_METHODS", "plan_bias"]

#: ``methods.*`` key of each bias stage.
BIAS_METHODS = {"pre_training_bias": PRE_TRAINING, "post_training_bias": POST_TRAINING}


def plan_bias(config: AnalysisConfig, dataset: Dataset) -> dict[str, BiasSpec]:
    """The resolved spec of every bias method ``config`` requests, by ``methods.*`` key.

    Parameters
    ----------
    config : AnalysisConfig
        The validated configuration.
    dataset : Dataset
        The loaded dataset (its label, facet, group-variable and predicted-label columns
        are resolved to names).

    Returns
    -------
    dict of str to BiasSpec
        ``"pre_training_bias"`` and/or ``"post_training_bias"``, in job order. After training
        ``predicted_label`` is the dataset's column, or None when the model predicts the
        labels (the job then calls ``spec.with_predicted_label(column)``).

    Notes
    -----
    No check is repeated here: the config's rules (``config/_rules.py``) already require
    ``label``, ``label_values_or_threshold`` and ``facet`` for bias methods and reject
    unknown or repeated metric names.
    """
    specs: dict[str, BiasSpec] = {}
    for method, stage in BIAS_METHODS.items():
        section = getattr(config.methods, method)
        if section is None:
            continue
        specs[method] = BiasSpec.resolve(
            stage=stage,
            label=dataset.label,
            label_values=list(config.label_values_or_threshold),
            facets=[FacetSpec(name, None if values is None else list(values)) for name, values in dataset.facets],
            methods=section.resolved_methods(),
            predicted_label=dataset.predicted_label if stage == POST_TRAINING else None,
            group_variable=dataset.group_variable,
            column_typing=config.column_typing_or_default,
            # a given probability_threshold turns scores in a predicted-label column/dataset into labels
            probability_threshold=config.probability_threshold if dataset.predicted_label else None,
        )
    return specs
