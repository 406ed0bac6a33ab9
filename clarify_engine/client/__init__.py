"""The thin client: the SageMaker SDK's processing, Spark and Clarify classes, run locally or on SageMaker.

``from clarify_engine import client as clarify`` stands in for ``sagemaker.clarify``;
``clarify_engine.client.spark`` for ``sagemaker.spark`` (see ``docs/client.md``).
"""

from clarify_engine.client._api_object import (
    AthenaDatasetDefinition,
    DatasetDefinition,
    FeatureStoreOutput,
    RedshiftDatasetDefinition,
    S3Input,
)
from clarify_engine.client._clarify import SageMakerClarifyProcessor
from clarify_engine.client._clarify_config import (
    BiasConfig,
    DataConfig,
    DatasetType,
    ExplainabilityConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    ProcessingOutputHandler,
    SegmentationConfig,
    SHAPConfig,
    TextConfig,
)
from clarify_engine.client._framework import FrameworkProcessor
from clarify_engine.client._isolation import IsolationUnavailable
from clarify_engine.client._local import LocalSession
from clarify_engine.client._pipeline import PipelineSession
from clarify_engine.client._processing import (
    NetworkConfig,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    RunArgs,
    ScriptProcessor,
)
from clarify_engine.client._sagemaker import Session
from clarify_engine.client._session import S3AccessError, UnexpectedStatusException

__all__ = [
    "AthenaDatasetDefinition",
    "BiasConfig",
    "DataConfig",
    "DatasetDefinition",
    "DatasetType",
    "ExplainabilityConfig",
    "FeatureStoreOutput",
    "FrameworkProcessor",
    "ImageConfig",
    "IsolationUnavailable",
    "LocalSession",
    "ModelConfig",
    "ModelPredictedLabelConfig",
    "NetworkConfig",
    "PDPConfig",
    "PipelineSession",
    "ProcessingInput",
    "ProcessingJob",
    "ProcessingOutput",
    "ProcessingOutputHandler",
    "Processor",
    "RedshiftDatasetDefinition",
    "RunArgs",
    "S3AccessError",
    "S3Input",
    "SHAPConfig",
    "SageMakerClarifyProcessor",
    "ScriptProcessor",
    "SegmentationConfig",
    "Session",
    "TextConfig",
    "UnexpectedStatusException",
]
