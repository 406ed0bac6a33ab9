"""``methods.shap.exact`` and ``--kernel-shap-only`` resolved into the exact-path spec.

The one place the config is read for the choice between an exact SHAP path and Kernel SHAP;
:func:`clarify_engine.explain._exact.choose_method` takes the spec, never the config.
"""

from __future__ import annotations

from clarify_engine.explain._exact_spec import ExactSpec

__all__ = ["exact_spec"]


def exact_spec(config, *, kernel_shap_only: bool = False) -> ExactSpec:
    """Resolve the exact-path choice of a job.

    Parameters
    ----------
    config : AnalysisConfig
        A validated config with a ``methods.shap`` section.
    kernel_shap_only : bool
        The CLI's ``--kernel-shap-only`` (or the API's ``kernel_shap_only=True``): wins over
        the config.

    Returns
    -------
    ExactSpec
    """
    if kernel_shap_only:
        return ExactSpec(False, "Kernel SHAP was asked for (--kernel-shap-only)")
    shap = config.methods.shap
    if shap.exact_or_default == "off":
        return ExactSpec(False, "methods.shap.exact is false")
    return ExactSpec(True, None)
