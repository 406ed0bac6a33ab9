"""Deferred ``run`` calls for pipeline steps: ``_StepArguments`` and ``runnable_by_pipeline`` (SDK 2.199).

Kept apart from :mod:`._pipeline` (which defines ``PipelineSession`` on top of ``Session``) so the
processors can use the decorator without importing the sessions.
"""

from __future__ import annotations

import inspect
import warnings
from functools import wraps
from typing import Any, Callable

#: The SDK's warning text.
PIPELINE_WARNING = "Running within a PipelineSession, there will be No Wait, No Logs, and No Job being started."


class _StepArguments:
    """A deferred ``run`` call: ``func(*func_args, **func_kwargs)`` (``caller_name``: ``"process"``)."""

    def __init__(self, caller_name: str | None = None, func: Callable | None = None, *func_args: Any, **func_kwargs: Any):
        self.caller_name = caller_name
        self.func = func
        self.func_args = func_args
        self.func_kwargs = func_kwargs


class _JobStepArguments(_StepArguments):
    """What a replayed call left in the session: the ``CreateProcessingJob`` request (``args``)."""

    def __init__(self, caller_name: str, args: dict):
        super().__init__(caller_name)
        self.args = args


def _is_pipeline_session(session: Any) -> bool:
    """Whether ``session`` defers runs: a :class:`PipelineSession` (``isinstance``, as the SDK checks it).

    Not an attribute test: a stand-in session (a ``MagicMock``) answers every attribute.
    """
    from clarify_engine.client._pipeline import PipelineSession  # the sessions import this module

    return isinstance(session, PipelineSession)


def runnable_by_pipeline(run_func: Callable) -> Callable:
    """Make ``run_func`` (a processor's ``run``) return :class:`_StepArguments` under a :class:`PipelineSession`."""

    @wraps(run_func)
    def wrapper(*args: Any, **kwargs: Any):
        self_instance = args[0]
        if not _is_pipeline_session(getattr(self_instance, "sagemaker_session", None)):
            return run_func(*args, **kwargs)
        params = list(inspect.signature(run_func).parameters)
        arg_list = list(args)
        for i, name in enumerate(params[: len(arg_list)]):
            if name in ("wait", "logs"):
                arg_list[i] = False
        for name in ("wait", "logs"):
            if name in params and params.index(name) >= len(arg_list):
                kwargs[name] = False
        warnings.warn(PIPELINE_WARNING, UserWarning)
        return _StepArguments("process", run_func, *arg_list, **kwargs)

    return wrapper
