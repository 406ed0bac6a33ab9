"""One concurrency budget shared by every worker: a ``distributed.Semaphore`` per job.

Each worker builds its own predictor (its own connections); the transport under its batcher is
wrapped so that every request holds one lease of the job's semaphore while it is in flight.
The semaphore lives on the scheduler, so the budget (``ClientOptions.concurrency``, the
``--concurrency`` of the command line) bounds the requests in flight across all workers and
hosts, as it bounds them in one process; each worker's own limiter still halves its share
while the endpoint throttles, and retries are the batcher's, as without a cluster.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BudgetTransport"]


class BudgetTransport:
    """A :class:`~clarify_engine.predict.Transport` whose requests each hold a lease of ``semaphore``.

    Parameters
    ----------
    inner : Transport
        The worker's transport (HTTP pool, SageMaker runtime).
    semaphore : distributed.Semaphore
        The job's shared budget.
    """

    def __init__(self, inner: Any, semaphore: Any):
        self.inner = inner
        self.semaphore = semaphore
        #: Requests sent through this transport (each under one lease).
        self.leases = 0

    def send(self, body: bytes, *, content_type: str, accept: str) -> bytes:
        """Send ``body`` holding one lease of the shared budget."""
        with self.semaphore:
            self.leases += 1
            return self.inner.send(body, content_type=content_type, accept=accept)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"BudgetTransport({self.inner!r}, {self.semaphore.name!r})"
