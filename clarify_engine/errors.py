"""Exceptions raised by clarify-engine.

Every error a user can cause derives from :class:`ClarifyError`, so the container
entrypoint and the CLI can turn it into a one-line failure reason. Each message says
what was found, what was expected and, where it helps, what to do next.
"""

from __future__ import annotations

__all__ = [
    "ClarifyError",
    "ConfigError",
    "DataError",
    "MetricError",
    "ModelError",
    "NotSupportedError",
    "PartialFailure",
]


class ClarifyError(Exception):
    """Base class of every error the engine reports to its user."""


class ConfigError(ClarifyError, ValueError):
    """The analysis configuration is invalid.

    Parameters
    ----------
    path : str
        JSON path of the key at fault, e.g. ``"methods.shap.num_clusters"`` or
        ``"facet[1].name_or_index"``; ``""`` for the document itself.
    message : str
        What was expected and what was found.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class DataError(ClarifyError, ValueError):
    """The dataset cannot be read or does not match the configuration.

    The message names the file, column and row at fault where they are known.
    """


class MetricError(ClarifyError, ValueError):
    """One bias metric cannot be computed for one facet value (an empty group, no positive label, ...).

    The job does not fail: the message goes in the metric's ``error`` field of analysis.json
    (with ``"value": null``), as Clarify reports it. Library callers get it when they read
    such a metric's value. A ``ValueError`` too, like scikit-learn's ``InvalidParameterError``.
    """


class ModelError(ClarifyError, RuntimeError):
    """The model (in-process or endpoint) failed or answered something unusable."""


class NotSupportedError(ClarifyError):
    """The configuration asks for an analysis this engine does not run yet."""


class PartialFailure(ClarifyError):
    """Some requested methods failed; the others completed and their result is kept.

    Parameters
    ----------
    message : str
        Which methods failed and why, and which completed.
    result : AnalysisResult
        The completed sections (``result.to_dict()``), with ``result.failed`` naming each
        failed method and its reason. Already written when an output folder was given.
    """

    def __init__(self, message: str, result):
        super().__init__(message)
        self.result = result
