"""clarify-engine: an open reimplementation of the SageMaker Clarify analysis container.

``analyze(config, data, model=None, output_dir=None)`` runs an ``analysis_config.json`` on a
dataset and returns an :class:`AnalysisResult` whose ``to_dict()`` is ``analysis.json``;
``validate(config, data=None, model=None)`` makes every check ``analyze`` makes before
computing, and returns a :class:`ValidationReport`.

Importing the package is cheap: the numeric stack (numpy, pandas, numba, scikit-learn) is
imported when ``analyze``, ``validate`` with data, or the result types are first used.
"""

from __future__ import annotations

from clarify_engine._lazy import lazy_exports
from clarify_engine._version import __version__
from clarify_engine.errors import ClarifyError, ConfigError, DataError, ModelError, NotSupportedError, PartialFailure

#: Public names imported on first use, and the module each comes from.
_LAZY = {
    "analyze": "clarify_engine._api",
    "validate": "clarify_engine._validate",
    "ValidationReport": "clarify_engine._validate",
    "load_dataset": "clarify_engine._api",
    "AnalysisResult": "clarify_engine.job",
    "Failed": "clarify_engine.job",
    "NotRun": "clarify_engine.job",
    "Job": "clarify_engine.job",
    "plan": "clarify_engine.job",
    "ClientOptions": "clarify_engine.predict",
    "make_predictor": "clarify_engine.predict",
    "load_config": "clarify_engine.config",
}

__all__ = [
    "AnalysisResult",
    "ClarifyError",
    "ClientOptions",
    "ConfigError",
    "DataError",
    "Failed",
    "Job",
    "ModelError",
    "NotRun",
    "NotSupportedError",
    "PartialFailure",
    "ValidationReport",
    "__version__",
    "analyze",
    "load_config",
    "load_dataset",
    "make_predictor",
    "plan",
    "validate",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
