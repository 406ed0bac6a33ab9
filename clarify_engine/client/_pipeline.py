"""``PipelineSession``: processors' ``run()`` returns step arguments instead of starting a job (SDK 2.199).

Under a :class:`PipelineSession` every processor's ``run`` (and the Clarify processor's
``run_*``) returns a :class:`_StepArguments` — the call, kept for later, with ``wait`` and
``logs`` forced off — and warns ``Running within a PipelineSession, there will be No Wait, No
Logs, and No Job being started.``; nothing is uploaded and no job starts. When a pipeline step
is built, :func:`execute_job_functions` replays the call: the files are uploaded as for a job,
and ``session.process`` keeps the ``CreateProcessingJob`` request in ``session.context`` (a
``_JobStepArguments`` whose ``args`` is the request) instead of sending it.

Notes
-----
:mod:`clarify_engine.client.workflow` (``Pipeline``, ``ProcessingStep``) replays the call inside
a step's context (:mod:`._pipeline_context`), which gives the files the SDK's pipeline layout
(``<pipeline>/<step>/...``, ``<pipeline>/code/<hash>/...``); replayed outside it, the request
uses the job-name layout of a plain run.
"""

from __future__ import annotations

from typing import Any

from clarify_engine.client._sagemaker import Session
from clarify_engine.client._step_args import PIPELINE_WARNING, _JobStepArguments, _StepArguments, runnable_by_pipeline

__all__ = ["PIPELINE_WARNING", "PipelineSession", "execute_job_functions", "runnable_by_pipeline"]


class PipelineSession(Session):
    """A SageMaker session for building pipeline steps (``sagemaker.workflow.pipeline_context.PipelineSession``).

    Parameters are those of :class:`~clarify_engine.client.Session`.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.context: _StepArguments | None = None

    def process(self, inputs, output_config, job_name, resources, stopping_condition, app_specification,
                environment, network_config, role_arn, tags, experiment_config=None):
        """Keep the ``CreateProcessingJob`` request in :attr:`context`; nothing is sent."""
        request = self.processing_request(inputs, output_config, job_name, resources, stopping_condition,
                                          app_specification, environment, network_config, role_arn, tags,
                                          experiment_config)
        self.context = _JobStepArguments("process", request)
        return None


def execute_job_functions(step_args: _StepArguments) -> dict:
    """Replay a deferred call (and the calls it defers in turn); the request left in the session."""
    chained = step_args.func(*step_args.func_args, **step_args.func_kwargs)
    if isinstance(chained, _StepArguments):
        return execute_job_functions(chained)
    session = step_args.func_args[0].sagemaker_session
    return session.context.args
