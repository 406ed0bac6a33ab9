"""Calling the model for many records: few, large, concurrent requests that survive faults.

:class:`Batcher` sits between a request codec, a transport and a response codec. For one
:meth:`Batcher.predict` call it

1. encodes the records a chunk at a time and sends each distinct record once (identical rows
   share one answer, across chunks too): :mod:`._layout`;
2. packs the distinct records, in order, into requests bounded by bytes and by records, and
   hands each chunk's full requests to the workers while the next chunk is encoded (the
   packing is the same as that of the whole input at once): :mod:`._pipeline`;
3. keeps ``concurrency`` requests in flight (fewer while the endpoint throttles:
   :class:`~clarify_engine.predict.batching.ConcurrencyLimiter`) and puts the answers back in
   input order;
4. retries transient faults with backoff (:class:`~clarify_engine.predict.batching.RetryPolicy`;
   a reply's ``Retry-After`` holds back every request of the run until then, up to
   ``max_retry_after``): :mod:`._send`; and, when a request still fails in a way a smaller
   request may not, splits it into halves down to single records (Clarify's "Fallback to
   per-record prediction because of model error."): :mod:`._fallback`; a record that fails on
   its own stops the run with an error naming its row.

This module holds the settings and assembles those parts for each call; what they share
during a call is :class:`~clarify_engine.predict.batching._run.Run`.
"""

from __future__ import annotations

import logging
import random as _random
from typing import Any, Callable

from clarify_engine import _client_defaults as _defaults
from clarify_engine.predict._base import (
    ModelOutput,
    RequestCodec,
    ResponseCodec,
    Transport,
    concatenate_outputs,
)
from clarify_engine.predict._check import positive_int, positive_seconds
from clarify_engine.predict.batching._fallback import FALLBACK_MESSAGE, Solver
from clarify_engine.predict.batching._layout import Layout, as_records
from clarify_engine.predict.batching._limiter import ConcurrencyLimiter
from clarify_engine.predict.batching._pipeline import Pipeline
from clarify_engine.predict.batching._retry import RetryPolicy
from clarify_engine.predict.batching._run import BatchStats, Run
from clarify_engine.predict.batching._send import Sender

__all__ = ["DEFAULT_MAX_PAYLOAD_BYTES", "FALLBACK_MESSAGE", "Batcher", "BatchStats"]

logger = logging.getLogger(__name__)

#: Just under SageMaker Runtime InvokeEndpoint's 6 MB request limit.
DEFAULT_MAX_PAYLOAD_BYTES = _defaults.MAX_PAYLOAD_BYTES


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

    def predict(self, rows: Any) -> ModelOutput:
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
        records = as_records(rows)
        n_rows = len(records)
        self.stats = stats = BatchStats(rows=n_rows)
        if n_rows == 0:
            return ModelOutput(labels=None, scores=None)
        limits = [m for m in (self.max_records, self.request_codec.max_records) if m]
        layout = Layout.start(records, self.request_codec, min(limits) if limits else n_rows, stats)
        run = Run(layout=layout, stats=stats, byte_ceiling=self.max_payload_bytes,
                  slots=ConcurrencyLimiter(self.concurrency))
        # the parts are made per call, from the settings as they are now (they may be changed)
        sender = Sender(self.transport, self.request_codec.content_type, self.response_codec, self.retry,
                        self._sleep, self._random)
        solver = Solver(sender, self.request_codec.wrap, self.max_payload_bytes, self.retry)
        pipeline = Pipeline(solver, self.request_codec, max_payload_bytes=self.max_payload_bytes,
                            concurrency=self.concurrency, chunk_rows=self.chunk_rows,
                            progress_interval=self.progress_interval, on_progress=self.on_progress)
        outputs = pipeline.run(run, records)
        n_unique = stats.unique_rows

        # reassemble in input order
        merged = concatenate_outputs(outputs, n_unique)
        codes = layout.codes
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
