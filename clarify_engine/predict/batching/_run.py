"""What the workers of one predict call share: counters, the stop signal, the learned limits."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from clarify_engine.predict.batching._layout import Layout
from clarify_engine.predict.batching._limiter import ConcurrencyLimiter

__all__ = ["Aborted", "BatchStats", "Run", "Slot"]

logger = logging.getLogger(__name__)


@dataclass
class BatchStats:
    """What one :meth:`Batcher.predict` call did (read it after the call; also while it runs).

    Attributes
    ----------
    rows, unique_rows : int
        Records asked for, and distinct encoded records among them (those sent); while the
        call runs, ``unique_rows`` counts the rows encoded so far.
    planned_requests : int
        Requests planned from the bytes and records limits (grows while rows are encoded).
    requests_sent : int
        Attempts made, retries and the halves of split requests included.
    retries : int
        Attempts that repeated an identical request after a transient fault.
    splits : int
        Requests divided into smaller ones (after a failure, or under a learned 413 ceiling).
    rows_done : int
        Distinct records answered so far.
    elapsed : float
        Seconds from the start of the encoding (the first requests go out after its first
        chunk) to the last answer.
    """

    rows: int = 0
    unique_rows: int = 0
    planned_requests: int = 0
    requests_sent: int = 0
    retries: int = 0
    splits: int = 0
    rows_done: int = 0
    elapsed: float = 0.0


class Aborted(Exception):
    """Another worker failed for good: stop without sending anything more."""


@dataclass
class Run:
    """The shared state of one predict call (``stats`` and the learned limits guarded by ``lock``)."""

    layout: Layout
    stats: BatchStats
    byte_ceiling: int  # largest body still allowed: the payload limit, halved by each HTTP 413
    slots: ConcurrencyLimiter  # requests in flight at once (``concurrency``, less while throttled)
    lock: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None  # the first failure that ended the run
    fallback_logged: bool = False
    resume_at: float = 0.0  # time.monotonic() before which no request is sent (a Retry-After)

    def count(self, name: str, value: int = 1) -> None:
        with self.lock:
            setattr(self.stats, name, getattr(self.stats, name) + value)


class Slot:
    """Hold one of the run's in-flight slots; give up (:class:`Aborted`) if the run fails meanwhile.

    Set ``outcome`` (``"ok"``, ``"throttled"``) before leaving: the limiter adapts to it.
    """

    def __init__(self, run: Run):
        self.run = run
        self.outcome = "failed"
        self.token = None

    def __enter__(self) -> "Slot":
        while True:
            self.token = self.run.slots.acquire(timeout=0.1)
            if self.token is not None:
                return self
            if self.run.abort.is_set():
                raise Aborted()

    def __exit__(self, *exc_info: Any) -> None:
        limiter = self.run.slots
        if limiter.release(self.token, self.outcome):
            logger.info(
                "The model endpoint is throttling: at most %d request(s) in flight from now on "
                "(of %d), more again as requests go through.",
                limiter.limit,
                limiter.ceiling,
            )
