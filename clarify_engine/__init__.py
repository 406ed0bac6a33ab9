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
    "AnalysisResult": "clarify_engine.run",
    "Failed": "clarify_engine.run",
    "NotRun": "clarify_engine.run",
}

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
    "ValidationReport",
    "__version__",
    "analyze",
    "validate",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
