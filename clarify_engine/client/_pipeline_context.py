"""The step being compiled into a pipeline definition, and what it changes in the S3 layout (SDK 2.199).

While :meth:`~clarify_engine.client.Pipeline.definition` replays a step's deferred ``run()``
(:mod:`._workflow`), :func:`current_step` answers a :class:`StepContext` and the processors
place their files as the SDK's do inside a pipeline:

* local inputs: ``<bucket>[/<prefix>]/<pipeline>/<step>/input/<input name>``;
* outputs without an ``s3://`` destination:
  ``Join("/", ["s3:/", bucket, [prefix,] pipeline, Execution.PipelineExecutionId, step, "output", name])``,
  resolved by SageMaker for each execution;
* code (a ``ScriptProcessor``'s script, a Spark app, Spark dependencies, a
  ``FrameworkProcessor``'s ``sourcedir.tar.gz``): ``<...>/<pipeline>/code/<code hash>/...``,
  where the code hash is :func:`processing_code_hash` of the step's ``run()`` keyword arguments
  (so an unchanged script keeps its key and the step's cache);
* ``runproc.sh``: ``<bucket>[/<prefix>]/<pipeline>/code/<md5 of its text>/runproc.sh``;
* a Spark ``configuration``: ``<...>/<pipeline>/<step>/input/conf/<md5 of str(configuration)>/configuration.json``.

The hashes are the SDK's: MD5 over each path *as given* (sorted) and, for a file, its bytes;
for a folder, each entry's name and contents in name order. Arguments passed by position are
not seen (as in the SDK), and a code hash of ``None`` keeps the job-name layout.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

_BUF_SIZE = 65536


class PipelineVariable:
    """A value SageMaker Pipelines resolves at execution time; ``expr`` is its definition JSON."""

    @property
    def expr(self) -> dict:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        raise TypeError(f"{type(self).__name__} is resolved when the pipeline runs and has no value before; "
                        "use it in a step's arguments, not in a string")


class ExecutionVariable(PipelineVariable):
    """``Execution.<name>`` (``sagemaker.workflow.execution_variables.ExecutionVariable``)."""

    def __init__(self, name: str):
        self.name = name

    @property
    def expr(self) -> dict:
        return {"Get": f"Execution.{self.name}"}


class ExecutionVariables:
    """The execution variables of a pipeline (``sagemaker.workflow.execution_variables``)."""

    START_DATETIME = ExecutionVariable("StartDateTime")
    CURRENT_DATETIME = ExecutionVariable("CurrentDateTime")
    PIPELINE_NAME = ExecutionVariable("PipelineName")
    PIPELINE_ARN = ExecutionVariable("PipelineArn")
    PIPELINE_EXECUTION_ID = ExecutionVariable("PipelineExecutionId")
    PIPELINE_EXECUTION_ARN = ExecutionVariable("PipelineExecutionArn")
    TRAINING_JOB_NAME = ExecutionVariable("TrainingJobName")
    PROCESSING_JOB_NAME = ExecutionVariable("ProcessingJobName")


class Join(PipelineVariable):
    """``Std:Join``: the values joined with ``on`` when the pipeline runs (``sagemaker.workflow.functions.Join``)."""

    def __init__(self, on: str = "", values: list | None = None):
        self.on = on
        self.values = list(values or [])

    @property
    def expr(self) -> dict:
        return {"Std:Join": {"On": self.on,
                             "Values": [v.expr if isinstance(v, PipelineVariable) else v for v in self.values]}}


def is_pipeline_variable(value: Any) -> bool:
    """Whether ``value`` is resolved only when the pipeline runs."""
    return isinstance(value, PipelineVariable)


@dataclass(frozen=True)
class StepContext:
    """The step whose deferred ``run()`` is being replayed into a pipeline definition."""

    pipeline_name: str
    step_name: str
    code_hash: str | None
    config_hash: str | None


_CURRENT: ContextVar[StepContext | None] = ContextVar("clarify_engine_pipeline_step", default=None)


def current_step() -> StepContext | None:
    """The step being compiled, or None outside :meth:`Pipeline.definition`."""
    return _CURRENT.get()


@contextmanager
def compiling_step(context: StepContext) -> Iterator[StepContext]:
    """Make ``context`` the :func:`current_step` for the block."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


# -- the SDK's hashes ---------------------------------------------------------------------------


def hash_object(obj: Any) -> str:
    """MD5 of ``str(obj)``."""
    return hashlib.md5(str(obj).encode()).hexdigest()


def _local(path: str) -> str:
    return unquote(urlparse(path).path) if path.lower().startswith("file://") else path


def _hash_file(path: Path, md5: Any) -> None:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_BUF_SIZE), b""):
            md5.update(chunk)


def _hash_dir(folder: Path, md5: Any) -> None:
    for entry in sorted(folder.iterdir()):
        md5.update(entry.name.encode())
        if entry.is_file():
            _hash_file(entry, md5)
        elif entry.is_dir():
            _hash_dir(entry, md5)


def hash_files_or_dirs(paths: list[str]) -> str:
    """MD5 over each path as given (sorted) and what it holds (nothing for an S3 URI or a missing path)."""
    md5 = hashlib.md5()
    for path in sorted(paths):
        md5.update(path.encode())
        local = Path(_local(path))
        if local.is_dir():
            _hash_dir(local, md5)
        elif local.is_file():
            _hash_file(local, md5)
    return md5.hexdigest()


def _is_local(path: str | None) -> bool:
    return bool(path) and urlparse(str(path)).scheme in ("", "file")


def processing_code_hash(kwargs: dict) -> str | None:
    """The code hash of a processing step from its ``run()`` keyword arguments (None: no local code)."""
    submit_class = kwargs.get("submit_class")
    dependencies: list[str] = []
    for group in (kwargs.get("dependencies"), kwargs.get("submit_py_files"), [submit_class] if submit_class else None,
                  kwargs.get("submit_jars"), kwargs.get("submit_files")):
        dependencies += list(group or [])
    code = kwargs.get("submit_app") or kwargs.get("code")
    source_dir = kwargs.get("source_dir")
    if source_dir and _is_local(source_dir):  # FrameworkProcessor: the bundle's folder, the script when local
        return hash_files_or_dirs(([code] if _is_local(code) else []) + [source_dir] + dependencies)
    if _is_local(code):
        return hash_files_or_dirs([code] + dependencies)
    return None


def processing_config_hash(kwargs: dict) -> str | None:
    """The hash of a Spark step's ``configuration`` (None without one)."""
    configuration = kwargs.get("configuration")
    return hash_object(configuration) if configuration else None


__all__ = ["ExecutionVariable", "ExecutionVariables", "Join", "PipelineVariable", "StepContext", "compiling_step",
           "current_step", "hash_files_or_dirs", "hash_object", "is_pipeline_variable", "processing_code_hash",
           "processing_config_hash"]
