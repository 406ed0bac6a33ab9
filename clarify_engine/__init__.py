"""clarify-engine: an open reimplementation of the SageMaker Clarify analysis container.

``analyze(config, data, model=None, output_dir=None)`` runs an ``analysis_config.json`` on a
dataset and returns an :class:`AnalysisResult` whose ``to_dict()`` is ``analysis.json``.
"""

from clarify_engine._api import analyze
from clarify_engine.errors import ClarifyError, ConfigError, DataError, ModelError, NotSupportedError, PartialFailure
from clarify_engine.run import AnalysisResult, Failed, NotRun

from clarify_engine._version import __version__  # noqa: E402

__all__ = [
    "AnalysisResult",
    "ClarifyError",
    "ConfigError",
    "DataError",
    "Failed",
    "ModelError",
    "NotRun",
    "NotSupportedError",
    "PartialFailure",
    "__version__",
    "analyze",
]
