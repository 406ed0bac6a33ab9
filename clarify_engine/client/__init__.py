"""The thin client: SageMaker SDK-compatible processing and Clarify classes (local or SageMaker jobs)."""

# Processing classes and sessions (client engineer B).
from clarify_engine.client._isolation import IsolationUnavailable
from clarify_engine.client._local import LocalSession
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

# Clarify config classes and processor (client engineer A).
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
from clarify_engine.client._clarify_generator import _AnalysisConfigGenerator
