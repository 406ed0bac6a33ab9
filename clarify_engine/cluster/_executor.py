"""The client side of a job on a Dask cluster: partitions out, results gathered in row order.

:class:`DaskExecutor` plugs into :func:`clarify_engine.job.run_job` at two places:

* :meth:`DaskExecutor.predictor` wraps the job's predictor: each ``predict`` call (predicted
  labels of post-training bias, the PDP grid rows) is cut into contiguous partitions that
  workers send to the model (:func:`._worker.predict_part`); the answers are concatenated in
  row order, so labels, scores and the averages taken from them on the client are those of
  one process whenever the model answers a row the same whatever rows share its request;
* :meth:`DaskExecutor.kernel` is the Kernel SHAP core of :func:`clarify_engine.explain.run_shap`:
  the distinct records are cut into shards of whole blocks (:func:`._partitions.aligned_bounds`),
  each worker runs the same coalition plan (same seed) on its shard
  (:func:`._worker.shap_shard`), and the local values are put back in record order; global
  values are then aggregated on the client from the gathered local values, as in one process.

The model spec travels to the workers with each task (:class:`._worker.WorkerModel`); requests
of every worker share one budget (:mod:`._budget`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from clarify_engine import _stop
from clarify_engine.bias import BiasReport, BiasSpec
from clarify_engine.cluster import _worker
from clarify_engine.cluster._partitions import aligned_bounds, partition_bounds, partition_count
from clarify_engine.errors import NotSupportedError
from clarify_engine.explain._coalitions import coalition_plan, default_num_samples
from clarify_engine.explain._kernel_shap import KernelShapResult, _distinct_records, block_records
from clarify_engine.predict import ClientOptions, ModelOutput, ModelSpec, Predictor
from clarify_engine.predict._base import concatenate_outputs

__all__ = ["Cluster", "DaskExecutor", "connect"]

log = logging.getLogger(__name__)

#: Seconds between two stop checks while the client waits for the workers.
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Cluster:
    """A Dask cluster to run a job on, and how finely to partition it.

    Parameters
    ----------
    client : str or distributed.Client
        A scheduler address (``"tcp://host:port"``; the client is opened and closed by the
        job) or a connected ``distributed.Client`` (left open).
    partitions_per_worker : int, default 8
        At most this many partitions per worker (``8 * n_workers`` partitions at most).
    rows_per_partition : int, default 1000
        Model rows (predicted labels, PDP grid rows) per partition at least.
    records_per_shard : int, default 8
        Records Kernel SHAP explains per shard at least (a record costs coalitions x
        baseline rows of model calls).
    connect_timeout : float, default 30
        Seconds to wait for the scheduler at an address.

    Notes
    -----
    ``P = max(1, min(n_rows // rows_per_partition, partitions_per_worker * n_workers))``
    contiguous partitions; no result depends on ``P`` (``docs/scale.md``, "Dask").
    """

    client: Any
    partitions_per_worker: int = 8
    rows_per_partition: int = 1000
    records_per_shard: int = 8
    connect_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("partitions_per_worker", "rows_per_partition", "records_per_shard"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Cluster.{name} must be a positive integer; found {value!r}")
        if not (isinstance(self.connect_timeout, (int, float)) and self.connect_timeout > 0):
            raise ValueError(f"Cluster.connect_timeout must be a positive number of seconds; "
                             f"found {self.connect_timeout!r}")


@contextlib.contextmanager
def connect(cluster: Any) -> Iterator["DaskExecutor"]:
    """An executor on ``cluster`` (an address, a ``distributed.Client`` or a :class:`Cluster`).

    A client opened here from an address is closed on leaving; a caller's client is left open.
    """
    from distributed import Client

    settings = cluster if isinstance(cluster, Cluster) else Cluster(cluster)
    target = settings.client
    if isinstance(target, Client):
        yield DaskExecutor(target, settings)
        return
    if not isinstance(target, str) or not target:
        raise TypeError(f"cluster must be a scheduler address such as 'tcp://10.0.0.1:8786', a distributed.Client "
                        f"or a clarify_engine.cluster.Cluster; found {target!r}")
    try:
        client = Client(target, timeout=settings.connect_timeout)
    except OSError as exc:
        raise OSError(f"Cannot connect to the Dask scheduler at {target}: {exc}; start one (dask scheduler) "
                      f"with workers (dask worker {target}) or check the address") from exc
    with client:
        yield DaskExecutor(client, settings)


def check_job(job: Any, model: Any) -> None:
    """Refuse what the executor does not run on a cluster, naming the fix.

    Raises
    ------
    NotSupportedError
        Text or image explanations (``text_config``, ``image_config``); a shadow endpoint
        (``predictor.model_name`` without a ``model`` argument).
    """
    if job.text is not None or job.image is not None:
        kind = "text" if job.text is not None else "image"
        raise NotSupportedError(
            f"methods.shap.{kind}_config: {kind} explanations do not run on a Dask cluster yet; "
            f"run this job without --cluster (cluster=None)")
    spec = job.model
    if spec is not None and model is None and spec.endpoint_name is None and spec.model_name is not None:
        raise NotSupportedError(
            "predictor.model_name: a shadow endpoint is not created from a Dask cluster; create the endpoint "
            "and give predictor.endpoint_name, or run without --cluster")


class DaskExecutor:
    """Runs the model-calling stages of one job on a ``distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
    settings : Cluster
    """

    def __init__(self, client: Any, settings: Cluster):
        self.client = client
        self.settings = settings
        self.key = f"clarify-engine-{uuid.uuid4().hex}"
        self.stage = "predictions"
        self.partitions: dict[str, list[int]] = {}
        self.calls: dict[str, dict[str, float]] = {}
        self.requests: dict[str, int] = {}
        self.leases = 0
        self._model: _worker.WorkerModel | None = None
        self._semaphore: Any = None

    # -- setup --------------------------------------------------------------------------------

    def workers(self) -> list[str]:
        """Addresses of the workers connected now."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def _max_partitions(self) -> int:
        return self.settings.partitions_per_worker * max(1, len(self.workers()))

    def predictor(self, local: Predictor, spec: ModelSpec, features: Any, model: Any,
                  options: ClientOptions | None) -> Predictor:
        """The job's predictor, its calls made by the workers.

        ``local`` (built on the client) keeps what the client needs: the classes of an
        in-process estimator (predicted labels) and the model an exact SHAP path reads.
        """
        from distributed import Semaphore

        options = dataclasses.replace(options or ClientOptions(), on_progress=None)
        if local.batcher is not None:  # a remote model: one budget of requests in flight for all workers
            self._semaphore = Semaphore(max_leases=options.concurrency, name=self.key)
        budget = None if self._semaphore is None else (self.key, options.concurrency)
        self._model = _worker.WorkerModel(self.key, spec, tuple(features), model, options, budget)
        description = f"{local.description}, called from the workers of the Dask cluster at " \
                      f"{self.client.scheduler.address}"
        return Predictor(self._predict, description=description, classes=local.classes, in_process=local.in_process)

    @contextlib.contextmanager
    def stage_of(self, stage: str) -> Iterator[None]:
        """Count the workers' model calls made inside the block towards ``stage``."""
        previous, self.stage = self.stage, stage
        try:
            yield
        finally:
            self.stage = previous

    # -- running ------------------------------------------------------------------------------

    def _gather(self, futures: list) -> list:
        """Results of ``futures`` in their order; stops (cancelling them) when the job is stopped."""
        from distributed import wait

        try:
            while True:
                _stop.check()
                try:
                    wait(futures, timeout=POLL_SECONDS)
                except TimeoutError:
                    continue
                break
        except BaseException:
            self.client.cancel(futures)
            raise
        return self.client.gather(futures)

    def _count(self, calls: "_worker.Calls") -> None:
        entry = self.calls.setdefault(calls.stage, {"rows": 0, "calls": 0, "seconds": 0.0})
        entry["rows"] += calls.calls.rows
        entry["calls"] += calls.calls.calls
        entry["seconds"] += calls.calls.seconds
        for name, value in calls.requests.items():
            self.requests[name] = self.requests.get(name, 0) + value
        self.leases += calls.leases

    def _predict(self, rows: Any) -> ModelOutput:
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        n = len(frame)
        bounds = partition_bounds(n, partition_count(n, self.settings.rows_per_partition, self._max_partitions()))
        self.partitions.setdefault(self.stage, []).append(len(bounds))
        futures = [self.client.submit(_worker.predict_part, self._model, self.stage, frame.iloc[a:b],
                                      pure=False, key=f"{self.key}-{self.stage}-{uuid.uuid4().hex[:8]}-{i}")
                   for i, (a, b) in enumerate(bounds)]
        outputs = []
        for output, calls in self._gather(futures):
            self._count(calls)
            outputs.append(output)
        return concatenate_outputs(outputs, n)

    def bias_report(self, frame: pd.DataFrame, spec: BiasSpec) -> BiasReport:
        """:func:`~clarify_engine.bias.bias_report` of ``frame``, its count tables on the workers.

        The label, predicted-label, facet and group columns are cut into contiguous partitions;
        each worker reduces its partition to distinct rows with counts
        (:func:`~clarify_engine.bias._compress.compress_part`), and the client merges them in row
        order and reads the report from them (:func:`~clarify_engine.bias._stream.merged_report`;
        FT from ``frame``'s feature rows on the client). The same report as in one process. A
        frame whose role columns hold more distinct rows than the bound kept, or that lacks a
        role column, is reported on the client (``bias_report``'s own messages).
        """
        from clarify_engine.bias import bias_report
        from clarify_engine.bias._compress import MAX_DISTINCT_ROWS, compress_part, reducible_cuts
        from clarify_engine.bias._stream import merged_report, role_columns

        columns = [c for c in role_columns([spec]) if c is not None]
        if len(frame) == 0 or any(c not in frame.columns for c in columns):
            return bias_report(frame, spec)
        keys = frame.loc[:, columns]
        cuts = reducible_cuts([spec])
        bounds = partition_bounds(len(keys), partition_count(len(keys), self.settings.rows_per_partition,
                                                             self._max_partitions()))
        futures = [self.client.submit(compress_part, keys.iloc[a:b], columns, cuts, MAX_DISTINCT_ROWS, pure=False,
                                      key=f"{self.key}-bias-{uuid.uuid4().hex[:8]}-{i}")
                   for i, (a, b) in enumerate(bounds)]
        try:
            report = merged_report(frame, spec, self._gather(futures))
        except NotSupportedError as exc:  # more distinct rows than kept: the whole frame on the client
            log.info("Bias count tables computed on the client: %s", exc)
            return bias_report(frame, spec)
        self.partitions.setdefault("bias_tables", []).append(len(bounds))  # counted on the workers
        return report

    def kernel(self, scorer: Any) -> Callable[..., KernelShapResult]:
        """The Kernel SHAP core for :func:`clarify_engine.explain.run_shap`, on the workers.

        ``scorer`` (the client's stage scorer) is credited with the workers' calls and their
        first answer (which names the outputs).
        """
        def run(X: np.ndarray, baseline: np.ndarray, coder: Any, *, weights: Any, explain: Any,
                num_samples: int | None, seed: Any, link: str, max_rows_per_call: int,
                regression_adjusted: bool = False) -> KernelShapResult:
            m = len(explain)
            n_plan = 0
            if m >= 2:
                budget = default_num_samples(m) if num_samples is None else num_samples
                n_plan = coalition_plan(m, budget, seed).masks.shape[0]
            first, inverse = _distinct_records(X)
            distinct = X if first is None else np.ascontiguousarray(X[first])
            block = block_records(n_plan, baseline.shape[0], max_rows_per_call)
            parts = partition_count(len(distinct), self.settings.records_per_shard, self._max_partitions())
            bounds = aligned_bounds(len(distinct), parts, block)
            self.partitions.setdefault("kernel_shap", []).append(len(bounds))
            log.info("Kernel SHAP on the Dask cluster: %d distinct records in %d shards (blocks of %d records)",
                     len(distinct), len(bounds), block)
            kwargs = {"weights": weights, "explain": explain, "num_samples": num_samples, "seed": seed,
                      "link": link, "max_rows_per_call": max_rows_per_call,
                      "regression_adjusted": regression_adjusted}
            futures = [self.client.submit(_worker.shap_shard, self._model, distinct[a:b], baseline, coder, kwargs,
                                          pure=False, key=f"{self.key}-kernel_shap-{i}")
                       for i, (a, b) in enumerate(bounds)]
            shards = self._gather(futures)
            for _, calls, _ in shards:
                self._count(calls)
                scorer.calls.rows += calls.calls.rows
                scorer.calls.calls += calls.calls.calls
                scorer.calls.seconds += calls.calls.seconds
            scorer.first_output = shards[0][2]
            return _joined([core for core, _, _ in shards], inverse)

        return run

    def manifest(self) -> dict[str, Any]:
        """Where the job ran, for ``run_manifest.json``'s ``"cluster"`` key."""
        info: dict[str, Any] = {
            "scheduler": self.client.scheduler.address,
            "workers": self.workers(),
            "partitions": {stage: counts for stage, counts in self.partitions.items()},
            "settings": {"partitions_per_worker": self.settings.partitions_per_worker,
                         "rows_per_partition": self.settings.rows_per_partition,
                         "records_per_shard": self.settings.records_per_shard},
            "model_calls_on_workers": {stage: {"rows": int(c["rows"]), "calls": int(c["calls"]),
                                               "seconds": round(c["seconds"], 3)}
                                       for stage, c in self.calls.items()},
        }
        if self._semaphore is not None:
            info["requests"] = dict(self.requests)
            info["budget"] = {"semaphore": self.key, "max_leases": self._model.options.concurrency if self._model else 0,
                              "leases": self.leases}
        return info

    def close(self) -> None:
        """Close the workers' predictors of this job and the shared budget."""
        try:
            self.client.run(_worker.close_job, self.key)
        except Exception as exc:  # a worker gone at the end does not fail a finished job
            log.warning("Could not close the model clients on every Dask worker: %s", exc)
        if self._semaphore is not None:
            with contextlib.suppress(Exception):
                self._semaphore.close()


def _joined(cores: list[KernelShapResult], inverse: np.ndarray | None) -> KernelShapResult:
    """One result from the shards' (in record order), expanded back to every record."""
    def cat(name: str) -> np.ndarray:
        whole = np.concatenate([getattr(core, name) for core in cores])
        return whole if inverse is None else whole[inverse]

    head = cores[0]
    return KernelShapResult(values=cat("values"), expected_value=head.expected_value, fx=cat("fx"),
                            standard_errors=cat("standard_errors"), n_coalitions=head.n_coalitions,
                            exact=head.exact, reference=cat("reference"),
                            determined=all(core.determined for core in cores), method=head.method,
                            regression_adjusted=head.regression_adjusted)
