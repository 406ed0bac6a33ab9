"""Explanations: Kernel SHAP (baselines, coalitions, numba kernels, the job), later PDP."""
from clarify_engine.explain._baseline import baseline_from_config, cluster_baseline, encode_features  # noqa: E402,F401
from clarify_engine.explain._shap_job import SE_SECTION_KEY, run_shap  # noqa: E402,F401
from clarify_engine.explain._kernel_shap import KernelShapResult, default_num_samples, kernel_shap  # noqa: E402,F401
from clarify_engine.explain._coalitions import budget_note, determining_budget  # noqa: E402,F401
from clarify_engine.explain._pdp import run_pdp  # noqa: E402,F401
