"""The job: one typed plan from the config to the engines, and its run.

:func:`plan_data` and :func:`plan` are the only readers of the config below the door
(``load_config``): they resolve it, with the loaded dataset, into a frozen :class:`Job`
whose specs the engines take. :func:`run_job` runs the plan with one predictor and
returns an :class:`AnalysisResult` holding the typed results and their Clarify rendering.
"""

from clarify_engine._methods import NotRun
from clarify_engine.job._meter import ModelMeter, StageCalls, StageScorer
from clarify_engine.job._plan import plan, plan_data, resolve_features
from clarify_engine.job._run import PDP_NEEDS_SHAP, AnalysisResult, Failed, run_job
from clarify_engine.job._specs import Job

__all__ = [
    "PDP_NEEDS_SHAP",
    "AnalysisResult",
    "Failed",
    "Job",
    "ModelMeter",
    "NotRun",
    "StageCalls",
    "StageScorer",
    "plan",
    "plan_data",
    "resolve_features",
    "run_job",
]
