"""Explanations: Kernel SHAP and partial dependence (with ICE curves), as a library and for jobs.

Library use: :func:`kernel_shap` on coded arrays (exact Shapley values when the budget
covers every coalition, standard errors otherwise), :func:`partial_dependence` on a frame
with any score function; :func:`run_shap` / :func:`run_pdp` take a spec and a score
function and return typed results (:class:`ShapResult`, :class:`PdpResult`).
"""

from clarify_engine.explain._baseline import FeatureCoder, cluster_baseline, encode_features, given_baseline
from clarify_engine.explain._coalitions import budget_note, determining_budget
from clarify_engine.explain._kernel_shap import KernelShapResult, default_num_samples, kernel_shap
from clarify_engine.explain._pdp import partial_dependence, run_pdp, top_k_by_shap
from clarify_engine.explain._results import PdpCurve, PdpResult, ShapResult
from clarify_engine.explain._scoring import Scorer, as_scorer, check_scores
from clarify_engine.explain._shap_job import run_shap
from clarify_engine.explain._spec import BaselineSpec, PdpSpec, ShapSpec

__all__ = [
    "BaselineSpec",
    "FeatureCoder",
    "KernelShapResult",
    "PdpCurve",
    "PdpResult",
    "PdpSpec",
    "Scorer",
    "ShapResult",
    "ShapSpec",
    "as_scorer",
    "budget_note",
    "check_scores",
    "cluster_baseline",
    "default_num_samples",
    "determining_budget",
    "encode_features",
    "given_baseline",
    "kernel_shap",
    "partial_dependence",
    "run_pdp",
    "run_shap",
    "top_k_by_shap",
]
