"""Encoding and sending overlap: chunk by chunk, requests in flight while the next chunk is encoded.

The records are encoded a chunk at a time; each chunk's full requests go to the workers while
the next chunk is encoded (the packing is the same as that of the whole input at once), up to
``concurrency`` in flight (fewer while the endpoint throttles). Answers are collected as they
come, progress is reported (``on_progress``, a bar on a terminal, log lines with an ETA), and
a failure stops the encoding and the other workers.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable

from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.predict._base import ModelOutput, RequestCodec
from clarify_engine.predict.batching._fallback import Solver
from clarify_engine.predict.batching._run import Run

__all__ = ["Pipeline"]

logger = logging.getLogger(__name__)


class Pipeline:
    """Run one predict call: encode chunk by chunk, submit, collect, report progress.

    Parameters
    ----------
    solver : Solver
        Answers one planned request (retries and splits included).
    request_codec : RequestCodec
        Encodes the records.
    max_payload_bytes, concurrency, chunk_rows, progress_interval, on_progress
        As the :class:`~clarify_engine.predict.Batcher` has them.
    """

    def __init__(self, solver: Solver, request_codec: RequestCodec, *, max_payload_bytes: int, concurrency: int,
                 chunk_rows: int, progress_interval: float, on_progress: Callable[[int, int], None] | None):
        self.solver = solver
        self.request_codec = request_codec
        self.max_payload_bytes = max_payload_bytes
        self.concurrency = concurrency
        self.chunk_rows = chunk_rows
        self.progress_interval = progress_interval
        self.on_progress = on_progress

    def _chunks(self, n_rows: int):
        """Row ranges encoded at a time, ``chunk_rows`` each."""
        for start in range(0, n_rows, self.chunk_rows):
            yield start, min(start + self.chunk_rows, n_rows)

    def run(self, run: Run, records: Any) -> list[ModelOutput]:
        """Encode chunk by chunk, submitting each chunk's full requests while the next is encoded.

        Packing is the same greedy packing as of the whole input at once: a request still open
        at the end of a chunk (it could take more records) waits for the next chunk.
        """
        stats = run.stats
        n_rows = stats.rows
        outputs: dict[int, ModelOutput] = {}
        futures: dict = {}
        pending: set = set()
        started = time.perf_counter()
        # A bar on a terminal only: the ETA log lines are this class's own (_log_progress).
        clock = {"last_log": started, "bar": Progress("Predictions", n_rows, "rows", lines=False, leave=False)}
        pool = ThreadPoolExecutor(max_workers=self.concurrency + 1, thread_name_prefix="clarify-predict")
        try:
            planned_to = 0  # distinct records [0, planned_to) are in submitted requests
            logged = False
            # Requests waiting or in flight before the next chunk is encoded: enough to keep the
            # workers busy while it is, few enough that a failure stops the encoding early.
            ahead = 2 * self.concurrency + 16
            for start, stop in self._chunks(n_rows):
                while len(pending) > ahead:
                    pending = self._collect(
                        run, pending, futures, outputs, self.progress_interval, started, clock
                    )
                if run.abort.is_set():
                    break  # a request failed for good: the wait below raises its error
                run.layout.add_chunk(records, start, stop, self.request_codec, self.max_payload_bytes)
                run.layout.rows_encoded = stop
                last = stop == n_rows
                n_unique = stats.unique_rows
                plan = run.layout.pack(planned_to, n_unique, self.max_payload_bytes)
                if not last and plan:
                    a, b = plan[-1]
                    if b == n_unique and b - a < run.layout.record_limit:
                        plan.pop()  # may take records of the next chunk
                if not logged:
                    self._log_plan(run, stop, exact=last, planned=len(plan))
                    logged = True
                for a, b in plan:
                    future = pool.submit(self.solver.task, run, a, b)
                    futures[future] = a
                    pending.add(future)
                stats.planned_requests += len(plan)
                if plan:
                    planned_to = plan[-1][1]
                if pending:
                    pending = self._collect(run, pending, futures, outputs, 0, started, clock)
            while pending:
                pending = self._collect(
                    run, pending, futures, outputs, self.progress_interval, started, clock
                )
        except Exception:
            clock["bar"].close(finished=False)
            run.abort.set()
            # Workers stop at their next check of run.abort; in-flight requests end within the
            # transport's request deadline, so this wait is bounded.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        except BaseException:
            # The job is being stopped (SIGTERM, Ctrl-C): do not sit out requests in flight.
            run.abort.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        clock["bar"].close()
        stats.elapsed = time.perf_counter() - started
        return [outputs[a] for a in sorted(outputs)]

    def _collect(self, run, pending, futures, outputs, timeout, started, clock) -> set:
        """Take the answers of finished requests (waiting up to ``timeout``); report progress."""
        done, pending = wait(pending, timeout=min(timeout, _stop.POLL_SECONDS), return_when=FIRST_COMPLETED)
        _stop.check()  # a stopped job leaves at once; workers end with the process
        for future in done:
            error = future.exception()
            if error is not None:
                raise run.error or error
            outputs[futures.pop(future)] = future.result()
        now = time.perf_counter()
        run.stats.elapsed = now - started
        if done:
            clock["bar"].update_to(run.stats.rows_done, run.layout.expected_unique())
        if done and self.on_progress is not None:
            self.on_progress(run.stats.rows_done, run.layout.expected_unique())
        if pending and now - clock["last_log"] >= self.progress_interval:
            clock["last_log"] = now
            self._log_progress(run, now - started)
        return pending

    def _log_progress(self, run: Run, elapsed: float) -> None:
        stats = run.stats
        done, total = stats.rows_done, run.layout.expected_unique()
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"{max(total - done, 0) / rate:.0f} s" if rate > 0 else "unknown"
        logger.info(
            "Predictions: %d of %s%d unique rows (%.0f%%), %.0f rows/s, ETA %s "
            "(%d requests sent, %d retries, %d splits).",
            done,
            "" if run.layout.rows_encoded == stats.rows else "about ",
            total,
            100.0 * done / total,
            rate,
            eta,
            stats.requests_sent,
            stats.retries,
            stats.splits,
        )

    def _log_plan(self, run: Run, n_encoded: int, exact: bool, planned: int) -> None:
        stats = run.stats
        if exact:
            logger.info(
                "Sending %d rows (%d unique) to the model in %d requests "
                "(at most %d records and %d bytes each, %d at a time).",
                stats.rows,
                stats.unique_rows,
                planned,
                run.layout.record_limit,
                self.max_payload_bytes,
                min(self.concurrency, planned),
            )
            return
        # estimate from the rows encoded so far: their share of distinct rows and their sizes
        unique = stats.unique_rows
        est_unique = max(1, round(stats.rows * unique / n_encoded)) if unique else 1
        per_record = float(run.layout.cum[unique]) / unique if unique else 1.0
        budget = max(self.max_payload_bytes - run.layout.fixed + run.layout.sep, 1)
        est = max(
            math.ceil(est_unique / run.layout.record_limit), math.ceil(est_unique * per_record / budget), 1
        )
        logger.info(
            "Sending %d rows to the model in about %d requests (at most %d records and %d bytes "
            "each, %d at a time); rows are encoded while the first requests run, the counts of "
            "unique rows and requests follow at the end.",
            stats.rows,
            est,
            run.layout.record_limit,
            self.max_payload_bytes,
            min(self.concurrency, est),
        )
