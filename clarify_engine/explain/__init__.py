"""Explanations: Kernel SHAP (baselines, coalitions, numba kernels, the job), later PDP."""
