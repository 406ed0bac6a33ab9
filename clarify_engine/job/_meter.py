"""One meter of model calls for every stage of a job.

The job's predictor is wrapped once; each stage (predicted labels, Kernel SHAP, PDP) gets a
:class:`StageScorer` from :meth:`ModelMeter.scorer`, which checks every answer and counts
the rows, calls and seconds of that stage. The batcher's request counts (remote models)
are read from the same place. This replaces the per-engine counting wrappers.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.explain import check_scores
from clarify_engine.predict import ModelOutput, ModelSpec, Predictor, model_scores, score_columns

__all__ = ["ModelMeter", "StageCalls", "StageScorer"]


@dataclass
class StageCalls:
    """Model calls of one stage: rows sent, ``predict`` calls, seconds inside them."""

    rows: int = 0
    calls: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "calls": self.calls, "seconds": round(self.seconds, 3)}


class StageScorer:
    """``scorer(frame) -> ndarray (r, D)`` for one stage: checks the answer's shape and width."""

    def __init__(self, meter: "ModelMeter", stage: str):
        self._meter = meter
        self.calls = meter.stages.setdefault(stage, StageCalls())
        self.first_output: ModelOutput | None = None
        self._width: int | None = None

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        start = time.perf_counter()
        output = self._meter.predictor.predict(frame)
        scores = np.asarray(model_scores(output), dtype=np.float64)
        if self._width is None:
            self.first_output = output
        self._width = check_scores(scores, len(frame), self._width)
        self.calls.rows += len(frame)
        self.calls.calls += 1
        self.calls.seconds += time.perf_counter() - start
        return scores

    def labels(self, width: int) -> list[str]:
        """Names of the ``width`` scores: the reply's or ``label_headers``, else ``label0``..."""
        headers = self._meter.spec.label_headers
        if self.first_output is not None:
            return score_columns(self.first_output, headers)
        if headers is not None and len(headers) == width:  # no call was needed
            return [str(h) for h in headers]
        return [f"label{i}" for i in range(width)]


class ModelMeter:
    """The job's model, counted per stage.

    Parameters
    ----------
    predictor : Predictor
        The job's one predictor.
    spec : ModelSpec
        Its output names and the threshold of binary labels.
    """

    def __init__(self, predictor: Predictor, spec: ModelSpec):
        self.predictor = predictor
        self.spec = spec
        self.stages: dict[str, StageCalls] = {}

    def scorer(self, stage: str) -> StageScorer:
        """A score function whose calls count towards ``stage``."""
        return StageScorer(self, stage)

    def predicted_labels(self, rows: pd.DataFrame, stage: str = "predictions") -> np.ndarray:
        """The model's predicted label of every row (contract §5.3)."""
        calls = self.stages.setdefault(stage, StageCalls())
        start = time.perf_counter()
        output = self.predictor.predict(rows)
        labels = self.predictor.labels(output, label_headers=self.spec.label_headers,
                                       probability_threshold=self.spec.probability_threshold)
        calls.rows += len(rows)
        calls.calls += 1
        calls.seconds += time.perf_counter() - start
        return labels

    def summary(self) -> dict[str, Any]:
        """For the run manifest: the model, the calls of each stage, and the requests of a remote model."""
        info: dict[str, Any] = {"description": self.predictor.description,
                                "calls": {stage: calls.to_dict() for stage, calls in self.stages.items()}}
        if self.predictor.batcher is not None:
            info["requests"] = dataclasses.asdict(self.predictor.batcher.stats)
        return info
