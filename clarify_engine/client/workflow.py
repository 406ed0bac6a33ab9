"""Pipelines of processing steps: ``Pipeline`` and ``ProcessingStep`` (``sagemaker.workflow``, SDK 2.199).

Under a :class:`~clarify_engine.client.PipelineSession` a processor's ``run()`` returns step
arguments instead of starting a job. ``ProcessingStep(name, step_args=...)`` keeps them;
``Pipeline(name, steps=[...], sagemaker_session=...)`` builds the SDK's pipeline definition
JSON (:meth:`Pipeline.definition`): each step's ``run()`` is replayed inside that step's
context (:mod:`._pipeline_context`), which gives its files the SDK's pipeline S3 layout, and the
``CreateProcessingJob`` request it would send becomes the step's ``Arguments`` (without
``ProcessingJobName``, which SageMaker sets per execution).

Notes
-----
Processing steps only: no pipeline ``parameters``, condition, training, model or callback
steps, retry policies or ``PipelineDefinitionConfig`` (a step's job name is always left out,
the SDK's default). ``create``/``update``/``upsert``/``describe``/``delete``/``start`` send the
SDK's requests with the session's SageMaker client.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from clarify_engine.client._pipeline import PipelineSession, execute_job_functions
from clarify_engine.client._pipeline_context import (
    ExecutionVariables,
    Join,
    PipelineVariable,
    StepContext,
    compiling_step,
    processing_code_hash,
    processing_config_hash,
)
from clarify_engine.client._processing import s3_path_join, upload_string
from clarify_engine.client._step_args import _StepArguments

log = logging.getLogger(__name__)

#: The SDK's texts.
STEP_ARGS_ERROR = "The step_args of ProcessingStep must be obtained from processor.run()."
DUPLICATE_STEPS = ("Pipeline steps cannot have duplicate names. In addition, steps added in the ConditionStep "
                   "cannot be added in the Pipeline steps list.")
JOB_NAME_POPPED = ("Popping out 'ProcessingJobName' from the pipeline definition by default since it will be "
                   "overridden at pipeline execution time. Please utilize the PipelineDefinitionConfig to persist "
                   "this field in the pipeline definition if desired.")
#: A definition longer than this (bytes) goes to S3 instead of the request, as in the SDK.
INLINE_DEFINITION_LIMIT = 1024 * 100


@dataclass(frozen=True)
class CacheConfig:
    """Step caching (``sagemaker.workflow.steps.CacheConfig``).

    Attributes
    ----------
    enable_caching : bool, default False
    expire_after : str, optional
        ISO 8601 duration, e.g. ``"P30D"``.
    """

    enable_caching: bool = False
    expire_after: str | None = None

    @property
    def config(self) -> dict:
        """The step's ``CacheConfig`` entry."""
        config: dict[str, Any] = {"Enabled": self.enable_caching}
        if self.expire_after is not None:
            config["ExpireAfter"] = self.expire_after
        return {"CacheConfig": config}


@dataclass(frozen=True)
class PropertyFile:
    """A JSON file of a processing output that later steps can read (``sagemaker.workflow.properties.PropertyFile``).

    Attributes
    ----------
    name : str
    output_name : str
        The ``ProcessingOutput`` holding the file.
    path : str
        The file's path inside that output.
    """

    name: str
    output_name: str
    path: str

    @property
    def expr(self) -> dict:
        """The step's ``PropertyFiles`` entry."""
        return {"PropertyFileName": self.name, "OutputName": self.output_name, "FilePath": self.path}


class ProcessingStep:
    """A processing job in a pipeline (``sagemaker.workflow.steps.ProcessingStep``).

    Parameters
    ----------
    name : str
    step_args : _StepArguments
        What ``processor.run(...)`` returned under a :class:`PipelineSession`.
    processor : Processor, optional
        Not offered (deprecated in the SDK): pass ``step_args`` instead.
    display_name, description : str, optional
    property_files : list of PropertyFile, optional
    cache_config : CacheConfig, optional
    depends_on : list of str or ProcessingStep, optional
        Steps (or their names) that must finish first.
    retry_policies : list, optional
        Not offered.

    Raises
    ------
    TypeError, ValueError
        ``step_args`` is not the result of a processor's ``run()``, or neither/both of
        ``step_args`` and ``processor``.
    """

    def __init__(self, name: str, step_args: _StepArguments | None = None, processor=None, display_name=None,
                 description=None, inputs=None, outputs=None, job_arguments=None, code=None, property_files=None,
                 cache_config: CacheConfig | None = None, depends_on=None, retry_policies=None, kms_key=None):
        if not (step_args is not None) ^ (processor is not None):
            raise ValueError("either step_args or processor need to be given, but not both.")
        if processor is not None:
            raise NotImplementedError(
                "ProcessingStep(processor=...) (deprecated in the SageMaker SDK) is not offered by "
                "clarify_engine.client: make the processor with sagemaker_session=PipelineSession() and pass "
                "step_args=processor.run(...)")
        if retry_policies:
            raise NotImplementedError("ProcessingStep(retry_policies=...) is not offered by clarify_engine.client; "
                                      "leave it out (steps are not retried)")
        if not isinstance(step_args, _StepArguments):
            raise TypeError(STEP_ARGS_ERROR)
        if step_args.caller_name != "process":
            raise ValueError(STEP_ARGS_ERROR)
        self.name = name
        self.step_args = step_args
        self.display_name = display_name
        self.description = description
        self.property_files = list(property_files or [])
        self.cache_config = cache_config
        self.depends_on = depends_on

    @property
    def arguments(self) -> dict:
        """The step's ``CreateProcessingJob`` request (the deferred ``run()`` replayed), without the job name."""
        request = dict(execute_job_functions(self.step_args))
        log.warning(JOB_NAME_POPPED)
        request.pop("ProcessingJobName", None)
        experiment = request.get("ExperimentConfig") or {}
        if experiment.get("TrialComponentDisplayName"):
            request["ExperimentConfig"] = {"TrialComponentDisplayName": experiment["TrialComponentDisplayName"]}
        else:
            request.pop("ExperimentConfig", None)
        return request

    def to_request(self) -> dict:
        """The step's entry of the definition's ``Steps`` (the ``run()`` is replayed: call inside its context)."""
        request: dict[str, Any] = {"Name": self.name, "Type": "Processing", "Arguments": self.arguments}
        if self.depends_on:
            request["DependsOn"] = [d if isinstance(d, str) else d.name for d in self.depends_on]
        if self.display_name:
            request["DisplayName"] = self.display_name
        if self.description:
            request["Description"] = self.description
        if self.cache_config:
            request.update(self.cache_config.config)
        if self.property_files:
            request["PropertyFiles"] = [p.expr for p in self.property_files]
        return request


def _interpolate(obj: Any) -> Any:
    """``obj`` with every pipeline variable replaced by its expression."""
    if isinstance(obj, PipelineVariable):
        return obj.expr
    if isinstance(obj, dict):
        return {key: _interpolate(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_interpolate(value) for value in obj]
    return obj


class _PipelineExecution:
    """A started execution (``sagemaker.workflow.pipeline._PipelineExecution``): its ARN and ``describe()``."""

    def __init__(self, arn: str, sagemaker_session):
        self.arn = arn
        self.sagemaker_session = sagemaker_session

    def describe(self) -> dict:
        """``DescribePipelineExecution``."""
        return self.sagemaker_session.sagemaker_client.describe_pipeline_execution(PipelineExecutionArn=self.arn)


#: ``PipelineExperimentConfig``'s default: experiment = pipeline name, trial = execution id.
DEFAULT_EXPERIMENT_CONFIG = {"ExperimentName": ExecutionVariables.PIPELINE_NAME,
                             "TrialName": ExecutionVariables.PIPELINE_EXECUTION_ID}


class Pipeline:
    """A pipeline of processing steps (``sagemaker.workflow.pipeline.Pipeline``).

    Parameters
    ----------
    name : str
    parameters : list, optional
        Not offered (pipeline parameters): leave it out.
    pipeline_experiment_config : optional
        The default (experiment: the pipeline's name, trial: the execution id) or None.
    steps : list of ProcessingStep
    sagemaker_session : PipelineSession, optional
        Default: a new :class:`PipelineSession`.
    """

    _version = "2020-12-01"

    def __init__(self, name: str = "", parameters=None, pipeline_experiment_config: Any = "default", steps=None,
                 sagemaker_session=None, pipeline_definition_config=None):
        if parameters:
            raise NotImplementedError("Pipeline(parameters=...) is not offered by clarify_engine.client: pipeline "
                                      "parameters need ParameterString & co.; pass the values themselves")
        if pipeline_experiment_config not in ("default", None):
            raise NotImplementedError("Pipeline(pipeline_experiment_config=...) takes only the default or None here")
        if pipeline_definition_config is not None:
            raise NotImplementedError("Pipeline(pipeline_definition_config=...) is not offered by "
                                      "clarify_engine.client: steps' job names are always left out, the SDK's default")
        self.name = name
        self.parameters: list = []
        self.pipeline_experiment_config = (DEFAULT_EXPERIMENT_CONFIG if pipeline_experiment_config == "default"
                                           else None)
        self.steps = list(steps or [])
        self.sagemaker_session = sagemaker_session if sagemaker_session is not None else PipelineSession()
        self._metadata: dict = {}

    # -- the definition -----------------------------------------------------------------------

    def _steps_to_build(self) -> list[ProcessingStep]:
        """The steps in build order: the listed ones, then steps named only in ``depends_on``."""
        by_name: dict[str, ProcessingStep] = {}
        for step in self.steps:
            if step.name in by_name:
                raise ValueError(DUPLICATE_STEPS)
            by_name[step.name] = step
        ordered = list(self.steps)
        for step in ordered:  # grows while it is walked: upstream steps join at the end
            for item in step.depends_on or []:
                if isinstance(item, str):
                    if item not in by_name:
                        raise ValueError(f"The input steps do not contain the step of name: {item}")
                elif all(item is not known for known in ordered):
                    ordered.append(item)
        return ordered

    def definition(self) -> str:
        """The pipeline definition JSON, as the SDK's ``Pipeline.definition()`` writes it.

        Each step's ``run()`` is replayed (its files uploaded with the pipeline layout).
        """
        compiled = []
        for step in self._steps_to_build():
            kwargs = step.step_args.func_kwargs
            context = StepContext(self.name, step.name, processing_code_hash(kwargs), processing_config_hash(kwargs))
            with compiling_step(context):
                compiled.append(step.to_request())
        request = {"Version": self._version, "Metadata": self._metadata, "Parameters": self.parameters,
                   "PipelineExperimentConfig": self.pipeline_experiment_config, "Steps": compiled}
        return json.dumps(_interpolate(request))

    # -- the service ----------------------------------------------------------------------------

    def _create_args(self, role_arn: str, description: str | None) -> dict:
        definition = self.definition()
        kwargs: dict[str, Any] = {"PipelineName": self.name, "RoleArn": role_arn}
        if len(definition.encode("utf-8")) < INLINE_DEFINITION_LIMIT:
            kwargs["PipelineDefinition"] = definition
        else:
            session = self.sagemaker_session
            bucket = session.default_bucket()
            key = s3_path_join(getattr(session, "default_bucket_prefix", None) or "", self.name).lstrip("/")
            upload_string(session, definition, f"s3://{bucket}/{key}")
            kwargs["PipelineDefinitionS3Location"] = {"Bucket": bucket, "ObjectKey": key}
        if description is not None:
            kwargs["PipelineDescription"] = description
        return kwargs

    def create(self, role_arn: str | None = None, description: str | None = None, tags=None,
               parallelism_config=None) -> dict:
        """``CreatePipeline`` with this definition.

        Raises
        ------
        ValueError
            No ``role_arn``.
        """
        if not role_arn:
            raise ValueError("An AWS IAM role is required to create a Pipeline.")
        kwargs = self._create_args(role_arn, description)
        if tags is not None:
            kwargs["Tags"] = tags
        if parallelism_config is not None:
            kwargs["ParallelismConfiguration"] = parallelism_config
        return self.sagemaker_session.sagemaker_client.create_pipeline(**kwargs)

    def update(self, role_arn: str | None = None, description: str | None = None, parallelism_config=None) -> dict:
        """``UpdatePipeline`` with this definition."""
        if not role_arn:
            raise ValueError("An AWS IAM role is required to update a Pipeline.")
        kwargs = self._create_args(role_arn, description)
        if parallelism_config is not None:
            kwargs["ParallelismConfiguration"] = parallelism_config
        return self.sagemaker_session.sagemaker_client.update_pipeline(**kwargs)

    def upsert(self, role_arn: str | None = None, description: str | None = None, tags=None,
               parallelism_config=None) -> dict:
        """Create the pipeline, or update it when it exists (its tags merged with ``tags``)."""
        from botocore.exceptions import ClientError

        if not role_arn:
            raise ValueError("An AWS IAM role is required to create or update a Pipeline.")
        try:
            return self.create(role_arn, description, tags, parallelism_config)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if not (error.get("Code") == "ValidationException" and "already exists" in error.get("Message", "")):
                raise
        response = self.update(role_arn, description, parallelism_config=parallelism_config)
        if tags is not None:
            client = self.sagemaker_session.sagemaker_client
            old = client.list_tags(ResourceArn=response["PipelineArn"])["Tags"]
            keys = {t["Key"] for t in tags}
            client.add_tags(ResourceArn=response["PipelineArn"], Tags=list(tags) + [t for t in old if t["Key"] not in keys])
        return response

    def describe(self) -> dict:
        """``DescribePipeline``."""
        return self.sagemaker_session.sagemaker_client.describe_pipeline(PipelineName=self.name)

    def delete(self) -> dict:
        """``DeletePipeline``."""
        return self.sagemaker_session.sagemaker_client.delete_pipeline(PipelineName=self.name)

    def start(self, parameters: dict | None = None, execution_display_name: str | None = None,
              execution_description: str | None = None, parallelism_config=None) -> _PipelineExecution:
        """``StartPipelineExecution``; the execution (``arn``, ``describe()``)."""
        kwargs: dict[str, Any] = {"PipelineName": self.name}
        for key, value in (("PipelineExecutionDescription", execution_description),
                           ("PipelineExecutionDisplayName", execution_display_name),
                           ("ParallelismConfiguration", parallelism_config)):
            if value is not None:
                kwargs[key] = value
        if parameters:
            kwargs["PipelineParameters"] = [{"Name": k, "Value": str(v)} for k, v in parameters.items()]
        response = self.sagemaker_session.sagemaker_client.start_pipeline_execution(**kwargs)
        return _PipelineExecution(response["PipelineExecutionArn"], self.sagemaker_session)


__all__ = ["CacheConfig", "ExecutionVariables", "Join", "Pipeline", "PipelineSession", "ProcessingStep",
           "PropertyFile"]
