"""Assembling analysis_config.json from the config objects, in the SDK's key order.

Each public classmethod of :class:`_AnalysisConfigGenerator` builds the dictionary
one ``SageMakerClarifyProcessor.run_*`` call writes. The key order is part of the
contract (the written file must be byte-identical to the SDK's, contract §2.3):

* bias runs: data keys, bias keys, ``methods`` (``report`` first, then
  ``pre_training_bias``, ``post_training_bias``, ``shap``/``pdp``), ``predictor``,
  then ``probability_threshold``;
* explainability: data keys, ``predictor``, ``probability_threshold``, then
  ``methods``; it starts from ``data_config.analysis_config`` itself, not a copy
  (the SDK does the same, so nested lists are shared with the data config).
"""

from __future__ import annotations

from clarify_engine.client._clarify_config import (
    ExplainabilityConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    _set,
)

__all__ = ["_AnalysisConfigGenerator"]

#: The ``methods.report`` entry the SDK adds to every config.
_REPORT = {"name": "report", "title": "Analysis Report"}


class _AnalysisConfigGenerator:
    """Builds the analysis configuration of each kind of Clarify run (SDK 2.199.0 parity)."""

    @classmethod
    def bias_and_explainability(cls, data_config, model_config, model_predicted_label_config,
                                explainability_config, bias_config, pre_training_methods="all",
                                post_training_methods="all") -> dict:
        """Bias (pre and post training) and explainability in one config."""
        config = {**data_config.get_config(), **bias_config.get_config()}
        config = cls._add_methods(config, pre_training_methods=pre_training_methods,
                                  post_training_methods=post_training_methods,
                                  explainability_config=explainability_config)
        return cls._add_predictor(config, model_config, model_predicted_label_config)

    @classmethod
    def explainability(cls, data_config, model_config, model_predicted_label_config,
                       explainability_config) -> dict:
        """SHAP and/or PDP: data keys, ``predictor``, then ``methods``.

        Raises
        ------
        ValueError
            No :class:`ModelConfig`. (SDK 2.199.0 fails here with ``KeyError:
            'methods'`` because it adds the predictor before the methods; we give the
            message its bias runs give for the same mistake.)
        """
        if not isinstance(model_config, ModelConfig):
            raise ValueError("model_config must be provided when explainability methods are selected.")
        config = data_config.analysis_config
        config = cls._add_predictor(config, model_config, model_predicted_label_config)
        return cls._add_methods(config, explainability_config=explainability_config)

    @classmethod
    def bias_pre_training(cls, data_config, bias_config, methods) -> dict:
        """Pre-training bias: no model, no ``predictor``."""
        config = {**data_config.get_config(), **bias_config.get_config()}
        return cls._add_methods(config, pre_training_methods=methods)

    @classmethod
    def bias_post_training(cls, data_config, bias_config, model_predicted_label_config, methods,
                           model_config) -> dict:
        """Post-training bias, against a model or the predicted labels in the data."""
        config = {**data_config.get_config(), **bias_config.get_config()}
        config = cls._add_methods(config, post_training_methods=methods)
        return cls._add_predictor(config, model_config, model_predicted_label_config)

    @classmethod
    def bias(cls, data_config, bias_config, model_config, model_predicted_label_config,
             pre_training_methods="all", post_training_methods="all") -> dict:
        """Pre- and post-training bias."""
        config = {**data_config.get_config(), **bias_config.get_config()}
        config = cls._add_methods(config, pre_training_methods=pre_training_methods,
                                  post_training_methods=post_training_methods)
        return cls._add_predictor(config, model_config, model_predicted_label_config)

    @classmethod
    def _add_predictor(cls, analysis_config, model_config, model_predicted_label_config) -> dict:
        """A shallow copy of ``analysis_config`` with ``predictor`` and ``probability_threshold``.

        ``model_predicted_label_config`` may be a :class:`ModelPredictedLabelConfig`
        (its keys go into ``predictor``, its threshold to the top level) or, as
        ``run_explainability``'s ``model_scores``, an int or str that becomes
        ``predictor.label``. Without a model, only the threshold is kept.

        Raises
        ------
        ValueError
            No model although explainability is requested, or post-training bias
            has neither a model nor predicted labels in the data.
        """
        config = {**analysis_config}
        if isinstance(model_config, ModelConfig):
            config["predictor"] = model_config.get_predictor_config()
        else:
            methods = config.get("methods", {})
            if "shap" in methods or "pdp" in methods:
                raise ValueError("model_config must be provided when explainability methods are selected.")
            if "predicted_label_dataset_uri" not in config and "predicted_label" not in config:
                raise ValueError("model_config must be provided when `predicted_label_dataset_uri` or "
                                 "`predicted_label` are not provided in data_config.")
        if isinstance(model_predicted_label_config, ModelPredictedLabelConfig):
            threshold, predictor_keys = model_predicted_label_config.get_predictor_config()
            if predictor_keys and "predictor" in config:
                config["predictor"].update(predictor_keys)
            _set(threshold, "probability_threshold", config)
        elif "predictor" in config:
            _set(model_predicted_label_config, "label", config["predictor"])
        return config

    @classmethod
    def _add_methods(cls, analysis_config, pre_training_methods=None, post_training_methods=None,
                     explainability_config=None, report=True) -> dict:
        """A shallow copy of ``analysis_config`` with the ``methods`` requested (report first).

        Raises
        ------
        AttributeError
            No method at all (the SDK's exception type and message).
        """
        if not any([pre_training_methods, post_training_methods, explainability_config]):
            raise AttributeError(
                "analysis_config must have at least one working method: One of the "
                "`pre_training_methods`, `post_training_methods`, `explainability_config`.")
        config = {**analysis_config}
        methods = config.setdefault("methods", {})
        if report:
            methods["report"] = dict(_REPORT)
        if pre_training_methods:
            methods["pre_training_bias"] = {"methods": pre_training_methods}
        if post_training_methods:
            methods["post_training_bias"] = {"methods": post_training_methods}
        if explainability_config is not None:
            config["methods"] = {**methods, **cls._merge_explainability_configs(explainability_config)}
        return config

    @classmethod
    def _merge_explainability_configs(cls, explainability_config) -> dict:
        """One ``{name: config}`` dict from one explainability config or a list of them.

        Raises
        ------
        ValueError
            Empty list, two configs of one kind, or PDP without features and
            without SHAP (SDK messages).
        """
        if isinstance(explainability_config, list):
            if not explainability_config:
                raise ValueError("Please provide at least one explainability config.")
            merged = {}
            for item in explainability_config:
                merged.update(item.get_explainability_config())
            if len(merged) != len(explainability_config):
                raise ValueError("Duplicate explainability configs are provided")
            if "shap" not in merged and "features" not in merged["pdp"]:
                raise ValueError("PDP features must be provided when ShapConfig is not provided")
            return merged
        if isinstance(explainability_config, PDPConfig) and \
                "features" not in explainability_config.get_explainability_config()["pdp"]:
            raise ValueError("PDP features must be provided when ShapConfig is not provided")
        if not isinstance(explainability_config, ExplainabilityConfig) and \
                not hasattr(explainability_config, "get_explainability_config"):
            raise TypeError("explainability_config must be a SHAPConfig, a PDPConfig or a list of "
                            f"them, found {type(explainability_config).__name__}")
        return explainability_config.get_explainability_config()
