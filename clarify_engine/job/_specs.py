"""The job plan: what one job will do, every value resolved from the config once.

The planner (:mod:`clarify_engine.job._plan`) is the only reader of the config below the
door; each engine takes its own spec (defined beside the engine: ``bias.BiasSpec``,
``explain.ShapSpec``/``PdpSpec``, ``predict.ModelSpec``, ``report.ReportSpec``). Specs are
frozen: a plan can be logged, compared, partitioned and sent to another process as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from clarify_engine._methods import NotRun
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.explain._spec import PdpSpec, ShapSpec
from clarify_engine.predict._spec import ModelSpec
from clarify_engine.report._spec import ReportSpec

__all__ = ["Job"]


@dataclass(frozen=True)
class Job:
    """What one job will do: the methods that run (with their specs) and those that will not.

    Attributes
    ----------
    runnable : tuple of str
        ``methods.*`` keys that run, in job order.
    not_run : tuple of NotRun
        Requested methods that will not run, with reasons.
    bias : tuple of BiasSpec
        The bias stages to compute, in order.
    shap, pdp : ShapSpec, PdpSpec or None
    model : ModelSpec or None
        The model; None when no method needs predictions.
    needs_model : bool
        Whether some method calls the model.
    report : ReportSpec or None
    """

    runnable: tuple[str, ...]
    not_run: tuple[NotRun, ...] = ()
    bias: tuple[BiasSpec, ...] = ()
    shap: ShapSpec | None = None
    pdp: PdpSpec | None = None
    model: ModelSpec | None = None
    needs_model: bool = False
    report: ReportSpec | None = None
