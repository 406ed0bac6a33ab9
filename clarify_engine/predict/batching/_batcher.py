"""Calling the model for many records: few, large, concurrent requests that survive faults.

:class:`Batcher` sits between a request codec, a transport and a response codec. For one
:meth:`Batcher.predict` call it

1. encodes the records a chunk at a time and sends each distinct record once (identical rows
   share one answer, across chunks too);
2. packs the distinct records, in order, into requests bounded by bytes and by records, and
   hands each chunk's full requests to the workers while the next chunk is encoded (the
   packing is the same as that of the whole input at once);
3. keeps ``concurrency`` requests in flight (fewer while the endpoint throttles:
   :class:`~clarify_engine.predict.batching._limiter.ConcurrencyLimiter`) and puts the answers back in
   input order;
4. retries transient faults with backoff (:class:`~clarify_engine.predict.batching._retry.RetryPolicy`;
   a reply's ``Retry-After`` holds back every request of the run until then, up to
   ``max_retry_after``) and, when a request still fails in a way a smaller request may not,
   splits it into halves down to single records (Clarify's "Fallback to per-record
   prediction because of model error."); a record that fails on its own stops the run with
   an error naming its row.

Notes
-----
Distinct records are kept encoded, in order, laid end to end in one buffer per chunk, each
followed by the codec's ``separator``; a request for distinct records ``a:b`` is the codec's
``wrap`` of the bytes from record ``a`` to the end of record ``b - 1``. So the body of ``k``
records of total size ``L`` is ``fixed + L + (k - 1) * sep`` bytes, where ``fixed`` is
``len(wrap(b""))`` (template text; at least the codec's ``overhead()``) and ``sep`` the
separator's length. Each body is checked against the limit before it is sent, so a codec
whose bodies do not grow that way is split rather than sent too large.

Which rows are identical is decided before encoding when the rows are numbers (a 2-D numeric
array, or a DataFrame of numpy numeric columns): by their values' raw bits, hashed in numba
(:func:`~clarify_engine.predict._kernels.dedupe_rows`), and only new records are encoded. Such
records are laid out by the codec's ``encode_packed`` when it has one (one buffer, no Python
object per record). Other rows are encoded first and compared by their bytes. Both give the
same requests: equal values always encode to equal bytes (NaNs of different bit patterns are
sent as separate records, which costs a little and changes no answer).

When an endpoint answers HTTP 413 (payload too large), half the size of the refused body
becomes a ceiling for every request not yet sent, so that a few refusals (about
``log2(max_payload_bytes / endpoint limit)``) teach the whole run instead of one per request.
"""

from __future__ import annotations

import bisect
import logging
import math
import random as _random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from clarify_engine import _client_defaults as _defaults
from clarify_engine import _stop
from clarify_engine._progress import Progress
from clarify_engine.errors import ModelError
from clarify_engine.predict._base import (
    ModelOutput,
    RequestCodec,
    ResponseCodec,
    Transport,
    TransportError,
)
from clarify_engine.predict._check import positive_int, positive_seconds
from clarify_engine.predict._kernels import EMPTY_SLOT, dedupe_rows, rehash
from clarify_engine.predict.batching._limiter import ConcurrencyLimiter
from clarify_engine.predict.batching._retry import (
    RetryPolicy,
    describe_error,
    is_load_signal,
    is_retryable,
    whole_request_refusal,
    is_size_related,
    is_throttling,
)

__all__ = ["FALLBACK_MESSAGE", "Batcher", "BatchStats"]

logger = logging.getLogger("clarify_engine")

#: Clarify's log line when a batch failed and smaller requests are tried (contract §1.5).
FALLBACK_MESSAGE = "Fallback to per-record prediction because of model error."

#: Just under SageMaker Runtime InvokeEndpoint's 6 MB request limit.
DEFAULT_MAX_PAYLOAD_BYTES = _defaults.MAX_PAYLOAD_BYTES


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


class _Aborted(Exception):
    """Another worker failed for good: stop without sending anything more."""


@dataclass
class _Run:
    """State the workers of one predict call share (guarded by ``lock``)."""

    cum: np.ndarray  # cum[k]: offset of distinct record k in the layout (record + sep each), (n_rows + 1,)
    codes: np.ndarray  # distinct-record index of every input row, shape (n_rows,)
    first_rows: np.ndarray  # input row of each distinct record's first appearance, (n_rows,)
    fixed: int
    sep: int
    record_limit: int
    stats: BatchStats
    byte_ceiling: int
    slots: ConcurrencyLimiter  # requests in flight at once (``concurrency``, less while throttled)
    lock: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None  # the first failure that ended the run
    fallback_logged: bool = False
    resume_at: float = 0.0  # time.monotonic() before which no request is sent (a Retry-After)
    index: dict = field(default_factory=dict)  # encoded record -> distinct-record index (bytes path)
    keys: np.ndarray | None = None  # uint64 words per input row (numeric path), or None
    table: np.ndarray | None = None  # hash slots of the numeric path
    blocks: list = field(default_factory=list)  # encoded distinct records, a buffer per chunk
    block_starts: list = field(default_factory=list)  # layout offset where each buffer begins
    rows_encoded: int = 0
    columns: tuple = (None, None)  # (values per record, column names or None), for messages

    def expected_unique(self) -> int:
        """Distinct records: exact once every row is encoded, else extrapolated from those that are."""
        unique, encoded = self.stats.unique_rows, self.rows_encoded
        if encoded >= self.stats.rows or encoded == 0:
            return unique
        return max(unique, round(unique * self.stats.rows / encoded))

    def body_size(self, start: int, stop: int) -> int:
        """Bytes of the body holding distinct records ``start:stop`` (from the measured layout)."""
        return int(self.cum[stop] - self.cum[start]) - self.sep + self.fixed

    def records(self, start: int, stop: int) -> bytes:
        """Distinct records ``start:stop`` as laid out, separators between them (not after)."""
        lo, hi = int(self.cum[start]), int(self.cum[stop]) - self.sep
        k = bisect.bisect_right(self.block_starts, lo) - 1
        parts = []
        while lo < hi:
            base, block = self.block_starts[k], self.blocks[k]
            end = min(hi, base + len(block))
            parts.append(block[lo - base : end - base])
            lo, k = end, k + 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def first_row(self, unique: int) -> int:
        """Input row index of the first row whose record is distinct record ``unique``."""
        return int(self.first_rows[unique])

    def count(self, name: str, value: int = 1) -> None:
        with self.lock:
            setattr(self.stats, name, getattr(self.stats, name) + value)


class Batcher:
    """Sends records to a model in few, large, concurrent requests, with retries and splitting.

    Parameters
    ----------
    transport : Transport
        Sends one body, returns the reply body or raises :class:`TransportError`. It must be
        safe to call from ``concurrency`` threads at once, and bound each call by a total deadline.
    request_codec : RequestCodec
        Encodes records (``content_type``, ``max_records``: 1 for a JSON ``$record`` template).
    response_codec : ResponseCodec
        Decodes a reply into per-record labels and scores (``accept_type``).
    max_payload_bytes : int, default 5_800_000
        Largest request body, in bytes (just under InvokeEndpoint's 6 MB).
    max_records : int or None, default 1000
        Most records per request (None: only bytes and the codec's limit count).
    concurrency : int, default 4
        Requests in flight at once.
    retry : RetryPolicy, default RetryPolicy()
        Attempts and backoff for transient faults (throttling, 5xx, timeouts, dropped
        connections).
    on_progress : callable or None
        ``on_progress(rows_done, unique_rows)``, called from the calling thread after each
        planned request completes. While rows are still being encoded, ``unique_rows`` is
        extrapolated from the share of distinct rows among those encoded so far.
    sleep : callable or None
        ``sleep(seconds)`` between attempts. None waits on an event that a failure elsewhere in
        the run sets, so that a failing run does not sit out its backoff delays.
    random : callable, default random.random
        Uniform [0, 1) source of the backoff jitter.
    progress_interval : float, default 5.0
        Seconds between progress log lines (logger ``"clarify_engine"``).
    chunk_rows : int, default 1024
        Rows encoded at a time. The first requests go out once the first chunk is encoded;
        later chunks are encoded while requests are in flight. Small chunks keep each stretch
        the encoder holds the GIL short (a worker with a reply to read waits for it).

    Attributes
    ----------
    stats : BatchStats
        Counters of the latest (or running) :meth:`predict` call.
    """

    def __init__(
        self,
        transport: Transport,
        request_codec: RequestCodec,
        response_codec: ResponseCodec,
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_records: int | None = _defaults.MAX_RECORDS,
        concurrency: int = _defaults.CONCURRENCY,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        random: Callable[[], float] = _random.random,
        progress_interval: float = _defaults.PROGRESS_INTERVAL,
        chunk_rows: int = _defaults.CHUNK_ROWS,
    ):
        positive_int("Batcher", "max_payload_bytes", max_payload_bytes)
        if max_records is not None:
            positive_int("Batcher", "max_records", max_records)
        positive_int("Batcher", "concurrency", concurrency)
        positive_int("Batcher", "chunk_rows", chunk_rows)
        positive_seconds("Batcher", "progress_interval", progress_interval)
        self.transport = transport
        self.request_codec = request_codec
        self.response_codec = response_codec
        self.max_payload_bytes = max_payload_bytes
        self.max_records = max_records
        self.concurrency = concurrency
        self.retry = retry if retry is not None else RetryPolicy()
        self.on_progress = on_progress
        self.progress_interval = float(progress_interval)
        self.chunk_rows = chunk_rows
        self._sleep = sleep
        self._random = random
        self.stats = BatchStats()

    # -- public -------------------------------------------------------------------------------

    def predict(self, rows) -> ModelOutput:
        """Ask the model about every row; answers come back in input order.

        Parameters
        ----------
        rows : 2-D array-like of shape (n_rows, n_features), or pandas.DataFrame
            The records to send (feature values only, in the model's column order).

        Returns
        -------
        ModelOutput
            ``labels`` of shape (n_rows,) and/or ``scores`` of shape (n_rows, n_scores), as
            the response codec reads them; both None when ``rows`` is empty.

        Raises
        ------
        ModelError
            A record is larger than ``max_payload_bytes`` on its own (names the row; raised
            before anything holding that record is sent); a record fails on its own after
            retries (names the row, the status/code and the model's message); a fault no
            retry or split can fix (names the rows, the fault); or the replies disagree in
            shape.
        """
        records = _as_records(rows)
        n_rows = len(records)
        self.stats = stats = BatchStats(rows=n_rows)
        if n_rows == 0:
            return ModelOutput(labels=None, scores=None)
        limits = [m for m in (self.max_records, self.request_codec.max_records) if m]
        run = _Run(
            cum=np.zeros(n_rows + 1, dtype=np.int64),
            codes=np.empty(n_rows, dtype=np.intp),
            first_rows=np.empty(n_rows, dtype=np.intp),
            fixed=max(len(self.request_codec.wrap(b"")), int(self.request_codec.overhead()), 0),
            sep=len(self.request_codec.separator),
            record_limit=min(limits) if limits else n_rows,
            stats=stats,
            byte_ceiling=self.max_payload_bytes,
            slots=ConcurrencyLimiter(self.concurrency),
            keys=_row_keys(records),
            columns=_columns(records),
        )
        outputs = self._pipeline(run, records)
        n_unique = stats.unique_rows

        # reassemble in input order
        merged = _concatenate(outputs, n_unique)
        codes = run.codes
        if n_unique == n_rows:  # every row distinct: codes are 0, 1, ..., n_rows - 1
            labels, scores = merged.labels, merged.scores
        else:
            labels = merged.labels[codes] if merged.labels is not None else None
            scores = merged.scores[codes] if merged.scores is not None else None
        rate = n_unique / stats.elapsed if stats.elapsed > 0 else float("inf")
        logger.info(
            "Predicted %d rows (%d unique) in %.1f s (%.0f rows/s): %d requests sent, "
            "%d retries, %d splits.",
            n_rows,
            n_unique,
            stats.elapsed,
            rate,
            stats.requests_sent,
            stats.retries,
            stats.splits,
        )
        return ModelOutput(labels=labels, scores=scores)

    # -- planning ----------------------------------------------------------------------------

    def _chunks(self, n_rows: int):
        """Row ranges encoded at a time, ``chunk_rows`` each."""
        for start in range(0, n_rows, self.chunk_rows):
            yield start, min(start + self.chunk_rows, n_rows)

    def _encode_chunk(self, run: _Run, records, start: int, stop: int) -> int:
        """Encode rows ``start:stop``, add their new distinct records to ``run``; return how many.

        Raises ModelError naming the first row whose record alone is over the payload limit.
        """
        chunk = _rows_slice(records, start, stop)
        old = run.stats.unique_rows
        index = self._index_by_value if run.keys is not None else self._index_by_bytes
        found = index(run, chunk, start, stop)
        if found is None:
            return 0
        positions, data, starts = found
        new = len(positions)
        lengths = np.diff(starts) - run.sep
        too_big = np.flatnonzero(lengths + run.fixed > self.max_payload_bytes)
        if too_big.size:
            u = int(too_big[0])
            raise ModelError(
                f"Row {start + int(positions[u])} alone makes a request of "
                f"{int(lengths[u]) + run.fixed} bytes, more than the {self.max_payload_bytes}-byte "
                f"payload limit ({too_big.size} distinct record(s) of rows {start} to {stop - 1} "
                "are over it); shorten the record or raise the payload limit if the endpoint "
                "accepts more."
            )
        base = int(run.cum[old])
        run.cum[old + 1 : old + new + 1] = starts[1:] + base
        run.blocks.append(data)
        run.block_starts.append(base)
        run.stats.unique_rows = old + new
        return new

    def _index_by_value(self, run: _Run, chunk, start: int, stop: int):
        """Numbers: new records found by their values (numba), then only those encoded.

        Returns (positions in the chunk, laid-out data, offsets) of the new records, or None.
        """
        old = run.stats.unique_rows
        codes = np.empty(stop - start, dtype=np.intp)
        _reserve(run, old + stop - start)
        total = dedupe_rows(run.keys, start, stop, run.table, run.first_rows, old, codes)
        run.codes[start:stop] = codes
        if total == old:
            return None
        positions = run.first_rows[old:total] - start
        fresh = chunk if total - old == stop - start else _take_rows(chunk, positions)
        return (positions, *self._lay_out(fresh, start, stop, total - old))

    def _index_by_bytes(self, run: _Run, chunk, start: int, stop: int):
        """Anything else: every row encoded, new records found by their bytes.

        Returns (positions in the chunk, laid-out data, offsets) of the new records, or None.
        """
        n = stop - start
        pieces = self._encode(chunk, start, stop, n)
        index = run.index
        old = len(index)
        setdefault = index.setdefault
        codes = np.fromiter((setdefault(p, len(index)) for p in pieces), dtype=np.intp, count=n)
        run.codes[start:stop] = codes
        new = len(index) - old
        if new == 0:
            return None
        if new == n:  # every row of the chunk is new: no search needed
            positions = np.arange(n)
            fresh = pieces
        else:
            # new codes are given in order of first appearance: the first position of each
            codes_new, positions = np.unique(codes, return_index=True)
            positions = positions[codes_new >= old]
            fresh = [pieces[i] for i in positions.tolist()]
        run.first_rows[old : old + new] = positions + start
        return (positions, *_lay_pieces(fresh, self.request_codec.separator))

    def _encode(self, rows, start: int, stop: int, n: int) -> list[bytes]:
        """The codec's pieces for ``n`` rows (input rows ``start:stop`` or the new ones among them)."""
        pieces = self.request_codec.encode_records(rows)
        if len(pieces) != n:
            raise ModelError(
                f"The request codec encoded {len(pieces)} records for {n} rows of rows {start} to "
                f"{stop - 1}; expected one encoded record per row."
            )
        return pieces

    def _lay_out(self, rows, start: int, stop: int, n: int) -> tuple[bytes, np.ndarray]:
        """``n`` rows laid out as records, each followed by the separator, and their offsets."""
        packed = getattr(self.request_codec, "encode_packed", None)
        laid = packed(rows) if packed is not None else None
        if laid is None:
            return _lay_pieces(self._encode(rows, start, stop, n), self.request_codec.separator)
        data, starts = laid
        if len(starts) != n + 1:
            raise ModelError(
                f"The request codec laid out {len(starts) - 1} records for {n} rows of rows "
                f"{start} to {stop - 1}; expected one encoded record per row."
            )
        return data, starts

    def _log_plan(self, run: _Run, n_encoded: int, exact: bool, planned: int) -> None:
        stats = run.stats
        if exact:
            logger.info(
                "Sending %d rows (%d unique) to the model in %d requests "
                "(at most %d records and %d bytes each, %d at a time).",
                stats.rows,
                stats.unique_rows,
                planned,
                run.record_limit,
                self.max_payload_bytes,
                min(self.concurrency, planned),
            )
            return
        # estimate from the rows encoded so far: their share of distinct rows and their sizes
        unique = stats.unique_rows
        est_unique = max(1, round(stats.rows * unique / n_encoded)) if unique else 1
        per_record = float(run.cum[unique]) / unique if unique else 1.0
        budget = max(self.max_payload_bytes - run.fixed + run.sep, 1)
        est = max(
            math.ceil(est_unique / run.record_limit), math.ceil(est_unique * per_record / budget), 1
        )
        logger.info(
            "Sending %d rows to the model in about %d requests (at most %d records and %d bytes "
            "each, %d at a time); rows are encoded while the first requests run, the counts of "
            "unique rows and requests follow at the end.",
            stats.rows,
            est,
            run.record_limit,
            self.max_payload_bytes,
            min(self.concurrency, est),
        )

    # -- running -----------------------------------------------------------------------------

    def _pipeline(self, run: _Run, records) -> list[ModelOutput]:
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
                self._encode_chunk(run, records, start, stop)
                run.rows_encoded = stop
                last = stop == n_rows
                n_unique = stats.unique_rows
                plan = _pack(run, planned_to, n_unique, self.max_payload_bytes)
                if not last and plan:
                    a, b = plan[-1]
                    if b == n_unique and b - a < run.record_limit:
                        plan.pop()  # may take records of the next chunk
                if not logged:
                    self._log_plan(run, stop, exact=last, planned=len(plan))
                    logged = True
                for a, b in plan:
                    future = pool.submit(self._task, run, a, b)
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
            clock["bar"].update_to(run.stats.rows_done, run.expected_unique())
        if done and self.on_progress is not None:
            self.on_progress(run.stats.rows_done, run.expected_unique())
        if pending and now - clock["last_log"] >= self.progress_interval:
            clock["last_log"] = now
            self._log_progress(run, now - started)
        return pending

    def _log_progress(self, run: _Run, elapsed: float) -> None:
        stats = run.stats
        done, total = stats.rows_done, run.expected_unique()
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"{max(total - done, 0) / rate:.0f} s" if rate > 0 else "unknown"
        logger.info(
            "Predictions: %d of %s%d unique rows (%.0f%%), %.0f rows/s, ETA %s "
            "(%d requests sent, %d retries, %d splits).",
            done,
            "" if run.rows_encoded == stats.rows else "about ",
            total,
            100.0 * done / total,
            rate,
            eta,
            stats.requests_sent,
            stats.retries,
            stats.splits,
        )

    def _task(self, run: _Run, start: int, stop: int) -> ModelOutput:
        """One planned request, run by a worker; its failure stops the other workers at once."""
        try:
            return self._solve(run, start, stop)
        except _Aborted:
            raise
        except BaseException as error:
            with run.lock:
                if run.error is None:
                    run.error = error
            run.abort.set()
            raise

    def _solve(self, run: _Run, start: int, stop: int, split: bool = False) -> ModelOutput:
        """Answers for distinct records ``start:stop``: send, retry, split depth-first.

        ``split`` says this range is a part of a planned request that failed.
        """
        if run.abort.is_set():
            raise _Aborted()
        n = stop - start
        ceiling = run.byte_ceiling
        if n > 1 and run.body_size(start, stop) > ceiling:
            # an earlier 413 taught us a smaller limit: re-pack this range under it
            run.count("splits")
            parts = _pack(run, start, stop, ceiling)
            return _concatenate([self._solve(run, a, b, split) for a, b in parts], n)
        body = self.request_codec.wrap(run.records(start, stop))
        if len(body) > self.max_payload_bytes:
            if n == 1:
                raise ModelError(
                    f"Row {run.first_row(start)} alone makes a request of {len(body)} bytes, "
                    f"more than the {self.max_payload_bytes}-byte payload limit."
                )
            return self._split(run, start, stop, None)
        try:
            return self._send(run, body, n)
        except ModelError as error:
            if run.abort.is_set():
                raise _Aborted() from error
            too_large = isinstance(error, TransportError) and error.status == 413
            if too_large:
                # the endpoint's limit is below len(body): halve the ceiling for every request
                # not sent yet (a binary search that one refusal per halving pays for)
                with run.lock:
                    run.byte_ceiling = min(run.byte_ceiling, max(len(body) // 2, 1))
            exhausted = is_retryable(error)
            if exhausted and is_load_signal(error):
                raise self._too_busy(run, start, stop, error) from error
            if not (exhausted or is_size_related(error)):
                raise self._fatal(run, start, stop, error) from error
            if n == 1:
                attempts = self.retry.max_attempts if exhausted else 1  # n == 1: no split-first
                raise ModelError(
                    f"The model failed on row {run.first_row(start)} "
                    f"({attempts} attempt{'s' if attempts > 1 else ''}"
                    f"{', its request split down to this record' if split else ''}): "
                    f"{describe_error(error)}"
                ) from error
            if not split and whole_request_refusal(error) is not None:
                return self._check_one(run, start, stop, error)
            return self._split(run, start, stop, error, repack=too_large)

    def _check_one(self, run: _Run, start: int, stop: int, error: BaseException) -> ModelOutput:
        """A request refused in a way every record may share (:func:`whole_request_refusal`:
        the number of features or columns, the content type): send its first record alone.

        Refused alike, every record would be (extra columns reaching the model, a wrong
        template or format): stop with the reply, the columns sent and the fix, after 2 requests
        instead of about ``log2(records)``. Answered, the fault is in some records only: the
        others are split as usual.
        """
        body = self.request_codec.wrap(run.records(start, start + 1))
        try:
            first = self._send(run, body, 1)
        except ModelError as alone:
            if run.abort.is_set():
                raise _Aborted() from alone
            refusal = whole_request_refusal(alone)
            if refusal is not None:
                raise self._refused(run, start, stop, alone, refusal) from alone
            return self._split(run, start, stop, error)  # the split names the record at fault
        rest = (self._split(run, start + 1, stop, error) if stop - start > 2
                else self._solve(run, start + 1, stop, True))
        return _concatenate([first, rest], stop - start)

    def _split(
        self,
        run: _Run,
        start: int,
        stop: int,
        error: BaseException | None,
        repack: bool = False,
    ) -> ModelOutput:
        """Answers for ``start:stop`` from smaller requests: halves, or packed under the ceiling."""
        with run.lock:
            first = not run.fallback_logged
            run.fallback_logged = True
            run.stats.splits += 1
        if first:
            logger.warning(FALLBACK_MESSAGE)
            if error is not None:
                logger.warning(
                    "A request of %d records (from row %d) failed: %s",
                    stop - start,
                    run.first_row(start),
                    describe_error(error),
                )
        parts = _pack(run, start, stop, run.byte_ceiling) if repack else []
        if len(parts) < 2:
            middle = (start + stop) // 2
            parts = [(start, middle), (middle, stop)]
        return _concatenate([self._solve(run, a, b, True) for a, b in parts], stop - start)

    def _send(self, run: _Run, body: bytes, n: int) -> ModelOutput:
        """One request with retries; returns its n answers or raises the last error."""
        codec = self.response_codec
        attempt = 0
        while True:
            attempt += 1
            if run.abort.is_set():
                raise _Aborted()
            try:
                with _slot(run) as slot:
                    self._wait_for_resume(run)
                    run.count("requests_sent")
                    try:
                        reply = self.transport.send(
                            body,
                            content_type=self.request_codec.content_type,
                            accept=codec.accept_type,
                        )
                    except TransportError as error:
                        self._note_retry_after(run, error)  # before the slot goes to another request
                        slot.outcome = "throttled" if is_throttling(error) else "failed"
                        raise
                    slot.outcome = "ok"
                # Let go of the GIL for a moment: a worker woken by the slot just released
                # sends its request now, instead of waiting for this decode (pure Python for
                # JSON) or for the encoder; the model then works while this thread decodes.
                time.sleep(0)
                output = codec.decode(reply, n)
                _check_count(output, n)
            except ModelError as error:
                if not self.retry.should_retry(error, attempt, n):
                    raise
                delay = self.retry.wait(error, attempt, self._random)
                run.count("retries")
                logger.debug(
                    "Attempt %d of a %d-record request failed (%s); retrying in %.2f s.",
                    attempt,
                    n,
                    describe_error(error),
                    delay,
                )
                self._pause(run, delay)
                continue
            run.count("rows_done", n)
            return output

    def _note_retry_after(self, run: _Run, error: TransportError) -> None:
        """A reply that said Retry-After pauses the whole run, not just the request it refused."""
        if error.retry_after is None:
            return
        until = time.monotonic() + min(error.retry_after, self.retry.max_retry_after)
        with run.lock:
            run.resume_at = max(run.resume_at, until)

    def _wait_for_resume(self, run: _Run) -> None:
        pause = run.resume_at - time.monotonic()
        if pause > 0:
            self._pause(run, pause)

    def _pause(self, run: _Run, seconds: float) -> None:
        """Wait ``seconds`` (the injected ``sleep``, or until a failure elsewhere ends the run)."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif run.abort.wait(seconds):
            raise _Aborted()

    def _too_busy(self, run: _Run, start: int, stop: int, error: BaseException) -> ModelError:
        """The endpoint kept refusing as too busy: smaller requests would only add to its load."""
        n = stop - start
        where = f"row {run.first_row(start)}" if n == 1 else f"{n} records from row {run.first_row(start)}"
        return ModelError(
            f"The model endpoint kept refusing the request for {where} as too busy "
            f"({self.retry.attempts_for(error)} attempts, at most {run.slots.limit} request(s) in "
            f"flight by then): {describe_error(error)}. Give the endpoint more capacity or send "
            "fewer requests at once (--concurrency), then run the job again."
        )

    def _refused(self, run: _Run, start: int, stop: int, error: BaseException, refusal) -> ModelError:
        """A request and its first record alone refused alike (:meth:`_check_one`)."""
        row = run.first_row(start)
        count, names = run.columns
        if count is None:
            sent = "Each record sent has an unknown number of values"
        else:
            sent = f"Each record sent has {count} value(s)"
            if names:
                shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")
                sent += f", from the columns {shown}"
        return ModelError(
            f"The model refused the request for {stop - start} records from row {row}, and row {row} "
            f"sent alone, the same way: {describe_error(error).rstrip('.')}. {sent}; the reply speaks of "
            f"{refusal.topic}, so every record would be refused and the request was not split down to "
            f"single records. {refusal.fix}"
        )

    def _fatal(self, run: _Run, start: int, stop: int, error: BaseException) -> ModelError:
        n = stop - start
        where = (
            f"row {run.first_row(start)}"
            if n == 1
            else f"{n} records from row {run.first_row(start)}"
        )
        return ModelError(
            f"The model request for {where} failed with an error that neither retries nor "
            f"smaller requests can fix: {describe_error(error)}. Check the endpoint name or "
            "URL, the credentials and the content/accept types."
        )


# -- helpers ----------------------------------------------------------------------------------


class _slot:
    """Hold one of the run's in-flight slots; give up (``_Aborted``) if the run fails meanwhile.

    Set ``outcome`` (``"ok"``, ``"throttled"``) before leaving: the limiter adapts to it.
    """

    def __init__(self, run: _Run):
        self.run = run
        self.outcome = "failed"
        self.token = None

    def __enter__(self):
        while True:
            self.token = self.run.slots.acquire(timeout=0.1)
            if self.token is not None:
                return self
            if self.run.abort.is_set():
                raise _Aborted()

    def __exit__(self, *exc_info):
        limiter = self.run.slots
        if limiter.release(self.token, self.outcome):
            logger.info(
                "The model endpoint is throttling: at most %d request(s) in flight from now on "
                "(of %d), more again as requests go through.",
                limiter.limit,
                limiter.ceiling,
            )


def _row_keys(records) -> np.ndarray | None:
    """Each row's raw values as uint64 words, shape (n_rows, n_columns), or None for non-numbers.

    Numbers only: a 2-D array of a bool, int, uint or float dtype, or a DataFrame whose columns
    all have such numpy dtypes. Equal words mean equal values, which encode to equal bytes.
    """
    if isinstance(records, np.ndarray):
        if records.ndim != 2 or records.dtype.kind not in "biuf":
            return None
        if records.dtype.itemsize == 8 and records.dtype.kind in "iuf" and records.flags.c_contiguous:
            return records.view(np.uint64)  # no copy
        columns = [records[:, j] for j in range(records.shape[1])]
    elif hasattr(records, "iloc") and hasattr(records, "dtypes"):  # pandas.DataFrame
        dtypes = list(records.dtypes)
        if not all(isinstance(d, np.dtype) and d.kind in "biuf" for d in dtypes):
            return None  # text, categories, nullable extension types: compare the bytes
        columns = [records.iloc[:, j].to_numpy() for j in range(len(dtypes))]
    else:
        return None
    keys = np.empty((len(records), len(columns)), dtype=np.uint64)
    for j, column in enumerate(columns):
        kind = column.dtype.kind
        if kind == "f":
            keys[:, j] = column.astype(np.float64, copy=False).view(np.uint64)
        elif kind == "i":
            keys[:, j] = column.astype(np.int64, copy=False).view(np.uint64)
        else:  # uint, bool
            keys[:, j] = column.astype(np.uint64)
    return keys


def _columns(records) -> tuple[int | None, list[str] | None]:
    """Values per record and, for a DataFrame, the column names (for messages); None when unknown."""
    if hasattr(records, "iloc") and hasattr(records, "columns"):
        names = [str(c) for c in records.columns]
        return len(names), names
    if isinstance(records, np.ndarray):
        return int(records.shape[1]), None
    try:
        return len(records[0]), None
    except (TypeError, IndexError, KeyError):
        return None, None


def _reserve(run: _Run, n_unique: int) -> None:
    """Grow the hash table of the numeric path so that ``n_unique`` records keep it half empty.

    Its size is a power of two, 2 to 4 times the records (16 to 32 bytes per distinct row); it
    doubles as records come, each doubling rehashing the records so far (linear in all).
    """
    size = 1 << max(4, (2 * n_unique).bit_length())
    if run.table is not None and len(run.table) >= size:
        return
    table = np.full(size, EMPTY_SLOT, dtype=np.int64)
    rehash(run.keys, run.first_rows, run.stats.unique_rows, table)
    run.table = table


def _lay_pieces(pieces: Sequence[bytes], separator: bytes) -> tuple[bytes, np.ndarray]:
    """Encoded records end to end, each followed by ``separator``, and the offset of each."""
    starts = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)) + len(separator), out=starts[1:])
    return separator.join(pieces) + separator, starts


def _take_rows(rows, positions: np.ndarray):
    """Rows at ``positions`` of a DataFrame or a 2-D array (the numeric path's inputs)."""
    if hasattr(rows, "iloc"):
        return rows.iloc[positions]
    return rows[positions]


def _as_records(rows):
    """Rows the request codec can take: a DataFrame as it is (codecs format it column by column),
    a 2-D array, or a sequence of records."""
    if hasattr(rows, "iloc") and hasattr(rows, "columns"):  # pandas.DataFrame
        return rows
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2:
            raise ModelError(
                f"Rows to predict: expected a 2-D array (records x features), "
                f"found {rows.ndim} dimension(s) with shape {rows.shape}."
            )
        return rows
    if not isinstance(rows, Sequence):
        rows = list(rows)
    return rows


def _rows_slice(records, start: int, stop: int):
    """Rows ``start:stop`` of a DataFrame, a 2-D array or a sequence of records."""
    if start == 0 and stop == len(records):
        return records
    if hasattr(records, "iloc"):
        return records.iloc[start:stop]
    return records[start:stop]


def _pack(run: _Run, start: int, stop: int, max_bytes: int) -> list[tuple[int, int]]:
    """Greedy ranges of distinct records ``start:stop``, each within ``max_bytes`` and the record limit.

    A range ``a:b`` fits when ``fixed + cum[b] - cum[a] - sep <= max_bytes``, i.e.
    ``cum[b] <= cum[a] + max_bytes - fixed + sep``; each range takes as many records as fit
    (at least one).
    """
    cum = run.cum[: stop + 1]  # entries past the records encoded so far are not filled yet
    budget = max_bytes - run.fixed + run.sep
    ranges = []
    a = start
    while a < stop:
        b = int(np.searchsorted(cum, cum[a] + budget, side="right")) - 1
        b = max(a + 1, min(b, a + run.record_limit, stop))
        ranges.append((a, b))
        a = b
    return ranges


def _check_count(output: ModelOutput, n: int) -> None:
    for name in ("labels", "scores"):
        part = getattr(output, name)
        if part is not None and len(part) != n:
            raise ModelError(
                f"The model's reply holds {len(part)} {name} for a request of {n} records; "
                "expected one per record."
            )
    if output.labels is None and output.scores is None:
        raise ModelError(f"The model's reply to a request of {n} records held no labels or scores.")


def _concatenate(outputs: Sequence[ModelOutput], n: int) -> ModelOutput:
    """One ModelOutput from consecutive ones; every part must carry the same fields and widths."""
    if len(outputs) == 1:
        return outputs[0]
    has_labels = {o.labels is not None for o in outputs}
    has_scores = {o.scores is not None for o in outputs}
    if len(has_labels) > 1 or len(has_scores) > 1:
        raise ModelError(
            "The model's replies disagree: some carry labels/scores that others lack; "
            "expected every reply to have the same fields."
        )
    labels = np.concatenate([o.labels for o in outputs]) if has_labels == {True} else None
    scores = None
    if has_scores == {True}:
        widths = {o.scores.shape[1:] for o in outputs}
        if len(widths) > 1:
            found = sorted(w[0] if w else 1 for w in widths)
            raise ModelError(
                f"The model's replies disagree on the number of scores per record: found "
                f"{', '.join(map(str, found))}; expected the same in every reply."
            )
        scores = np.concatenate([o.scores for o in outputs])
    return ModelOutput(labels=labels, scores=scores)
