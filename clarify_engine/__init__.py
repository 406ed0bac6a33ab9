"""clarify-engine: an open reimplementation of the SageMaker Clarify analysis container."""

from clarify_engine.errors import ClarifyError, ConfigError, DataError, ModelError, NotSupportedError

__version__ = "0.1.0"

__all__ = [
    "ClarifyError",
    "ConfigError",
    "DataError",
    "ModelError",
    "NotSupportedError",
    "__version__",
]
