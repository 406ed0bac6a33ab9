"""What runs inside a Dask worker: the job's predictor (built once per worker) and the tasks.

Each task receives a :class:`WorkerModel` (the model spec, the features, the caller's model
argument, the client options and the shared budget) and the rows of its partition. The first
task of a job on a worker builds the predictor: an ``http(s)://`` URL or an endpoint name gets
the worker's own connections, wrapped by :class:`~clarify_engine.cluster._budget.BudgetTransport`;
an in-process estimator arrives pickled with the task; a model file is loaded from its path on
the worker. Tasks return their results with the model calls they made (rows, calls, seconds,
the batcher's request counts), which the client sums into the run manifest.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clarify_engine.explain._kernel_shap import KernelShapResult, kernel_shap
from clarify_engine.job._meter import ModelMeter, StageCalls
from clarify_engine.predict import ClientOptions, ModelOutput, ModelSpec, Predictor, make_predictor

__all__ = ["Calls", "WorkerModel", "close_job", "predict_part", "shap_shard"]

_LOCK = threading.Lock()
#: (job key, thread) -> (predictor, its budget transport): one per worker thread, so that the
#: batcher's per-call statistics are this task's own
_PREDICTORS: dict[tuple[str, int], tuple[Predictor, Any]] = {}


@dataclass(frozen=True)
class WorkerModel:
    """Everything a worker needs to call the job's model.

    Attributes
    ----------
    key : str
        The job's key: the worker's predictor is built once per key and closed by
        :func:`close_job`.
    spec : ModelSpec
    features : tuple of str
        Model inputs, in order.
    model : object
        The caller's ``model`` argument (URL, model-file path, estimator) or None (the
        config's endpoint).
    options : ClientOptions
        The client's limits (``on_progress`` dropped: it does not travel).
    budget : tuple of (str, int) or None
        Name and size of the ``distributed.Semaphore`` that is the shared budget of requests
        in flight (None for an in-process model). Each worker opens it on its own event loop,
        so the batcher's sending threads can take leases.
    """

    key: str
    spec: ModelSpec
    features: tuple[str, ...]
    model: Any
    options: ClientOptions
    budget: tuple[str, int] | None


@dataclass
class Calls:
    """Model calls one task made: per stage, and the batcher's request counts."""

    stage: str
    calls: StageCalls
    requests: dict[str, int] = dataclasses.field(default_factory=dict)
    leases: int = 0


def _predictor(wm: WorkerModel) -> tuple[Predictor, Any]:
    slot = (wm.key, threading.get_ident())
    with _LOCK:
        found = _PREDICTORS.get(slot)
        if found is None:
            from clarify_engine.cluster._budget import BudgetTransport

            predictor = make_predictor(wm.spec, list(wm.features), wm.model, wm.options)
            budget = None
            if predictor.batcher is not None and wm.budget is not None:
                from distributed import Semaphore, get_worker

                worker = get_worker()
                semaphore = Semaphore(max_leases=wm.budget[1], name=wm.budget[0], scheduler_rpc=worker.scheduler,
                                      loop=worker.loop)
                budget = predictor.batcher.transport = BudgetTransport(predictor.batcher.transport, semaphore)
            found = _PREDICTORS[slot] = (predictor, budget)
        return found


def _add_requests(total: dict[str, int], predictor: Predictor) -> None:
    """Add the counts of the predictor's last call (the batcher keeps one call's) to ``total``."""
    if predictor.batcher is None:
        return
    for name, value in dataclasses.asdict(predictor.batcher.stats).items():
        if isinstance(value, int):
            total[name] = total.get(name, 0) + value


def predict_part(wm: WorkerModel, stage: str, rows: pd.DataFrame) -> tuple[ModelOutput, Calls]:
    """The model's answers for one partition of rows, and the call made.

    The raw output travels back, so the client turns it into labels or scores (and checks it)
    exactly as it would have in one process.
    """
    predictor, budget = _predictor(wm)
    before = 0 if budget is None else budget.leases
    start = time.perf_counter()
    output = predictor.predict(rows)
    calls = StageCalls(rows=len(rows), calls=1, seconds=time.perf_counter() - start)
    requests: dict[str, int] = {}
    _add_requests(requests, predictor)
    return output, Calls(stage, calls, requests, 0 if budget is None else budget.leases - before)


def shap_shard(wm: WorkerModel, X: np.ndarray, baseline: np.ndarray, coder: Any, kwargs: dict[str, Any]
               ) -> tuple[KernelShapResult, Calls, Any]:
    """Kernel SHAP of one shard of distinct records, with the same plan (seed) as every shard."""
    predictor, budget = _predictor(wm)
    meter = ModelMeter(predictor, wm.spec)
    scorer = meter.scorer("kernel_shap")
    before = 0 if budget is None else budget.leases

    requests: dict[str, int] = {}

    def predict(rows: np.ndarray) -> np.ndarray:
        scores = scorer(coder(rows))
        _add_requests(requests, predictor)
        return scores

    core = kernel_shap(predict, X, baseline, workers=1, **kwargs)
    calls = Calls("kernel_shap", scorer.calls, requests, 0 if budget is None else budget.leases - before)
    return core, calls, scorer.first_output


def close_job(key: str) -> int:
    """Close this worker's predictors of job ``key`` (run on every worker at the end); how many."""
    with _LOCK:
        slots = [slot for slot in _PREDICTORS if slot[0] == key]
        found = [_PREDICTORS.pop(slot) for slot in slots]
    for predictor, _ in found:
        predictor.close()
    return len(found)
