"""Answers for a range of distinct records whatever it takes: send, retry, split depth-first.

When a request still fails after its retries in a way a smaller request may not (a reply that
cannot be read, the wrong number of records, a size-related status), it is split into halves
down to single records (Clarify's "Fallback to per-record prediction because of model
error."); a record that fails on its own stops the run with an error naming its row. A request
refused the way every record would be (:func:`~clarify_engine.predict.batching._retry.whole_request_refusal`)
is checked with its first record alone instead of being split all the way down.

When an endpoint answers HTTP 413 (payload too large), half the size of the refused body
becomes a ceiling for every request not yet sent, so that a few refusals (about
``log2(max_payload_bytes / endpoint limit)``) teach the whole run instead of one per request.
"""

from __future__ import annotations

import logging
from typing import Callable

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import ModelOutput, TransportError, concatenate_outputs
from clarify_engine.predict.batching._retry import (
    RetryPolicy,
    describe_error,
    is_load_signal,
    is_retryable,
    is_size_related,
    whole_request_refusal,
)
from clarify_engine.predict.batching._run import Aborted, Run
from clarify_engine.predict.batching._send import Sender

__all__ = ["FALLBACK_MESSAGE", "Solver"]

logger = logging.getLogger(__name__)

#: Clarify's log line when a batch failed and smaller requests are tried (contract §1.5).
FALLBACK_MESSAGE = "Fallback to per-record prediction because of model error."


class Solver:
    """Answers for distinct records ``start:stop`` of a run (see the module docstring).

    Parameters
    ----------
    sender : Sender
        Sends one body with retries.
    wrap : callable
        The request codec's ``wrap``: records laid out with separators → request body.
    max_payload_bytes : int
        Largest body sent.
    retry : RetryPolicy
        For the wording of errors (attempts made).
    """

    def __init__(self, sender: Sender, wrap: Callable[[bytes], bytes], max_payload_bytes: int, retry: RetryPolicy):
        self.sender = sender
        self.wrap = wrap
        self.max_payload_bytes = max_payload_bytes
        self.retry = retry

    def task(self, run: Run, start: int, stop: int) -> ModelOutput:
        """One planned request, run by a worker; its failure stops the other workers at once."""
        try:
            return self.solve(run, start, stop)
        except Aborted:
            raise
        except BaseException as error:
            with run.lock:
                if run.error is None:
                    run.error = error
            run.abort.set()
            raise

    def solve(self, run: Run, start: int, stop: int, split: bool = False) -> ModelOutput:
        """Answers for distinct records ``start:stop``: send, retry, split depth-first.

        ``split`` says this range is a part of a planned request that failed.
        """
        if run.abort.is_set():
            raise Aborted()
        layout = run.layout
        n = stop - start
        ceiling = run.byte_ceiling
        if n > 1 and layout.body_size(start, stop) > ceiling:
            # an earlier 413 taught us a smaller limit: re-pack this range under it
            run.count("splits")
            parts = layout.pack(start, stop, ceiling)
            return concatenate_outputs([self.solve(run, a, b, split) for a, b in parts], n)
        body = self.wrap(layout.records(start, stop))
        if len(body) > self.max_payload_bytes:
            if n == 1:
                raise ModelError(
                    f"Row {layout.first_row(start)} alone makes a request of {len(body)} bytes, "
                    f"more than the {self.max_payload_bytes}-byte payload limit."
                )
            return self._split(run, start, stop, None)
        try:
            return self.sender.send(run, body, n)
        except ModelError as error:
            if run.abort.is_set():
                raise Aborted() from error
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
                    f"The model failed on row {layout.first_row(start)} "
                    f"({attempts} attempt{'s' if attempts > 1 else ''}"
                    f"{', its request split down to this record' if split else ''}): "
                    f"{describe_error(error)}"
                ) from error
            if not split and whole_request_refusal(error) is not None:
                return self._check_one(run, start, stop, error)
            return self._split(run, start, stop, error, repack=too_large)

    def _check_one(self, run: Run, start: int, stop: int, error: BaseException) -> ModelOutput:
        """A request refused in a way every record may share (:func:`whole_request_refusal`:
        the number of features or columns, the content type): send its first record alone.

        Refused alike, every record would be (extra columns reaching the model, a wrong
        template or format): stop with the reply, the columns sent and the fix, after 2 requests
        instead of about ``log2(records)``. Answered, the fault is in some records only: the
        others are split as usual.
        """
        body = self.wrap(run.layout.records(start, start + 1))
        try:
            first = self.sender.send(run, body, 1)
        except ModelError as alone:
            if run.abort.is_set():
                raise Aborted() from alone
            refusal = whole_request_refusal(alone)
            if refusal is not None:
                raise self._refused(run, start, stop, alone, refusal) from alone
            return self._split(run, start, stop, error)  # the split names the record at fault
        rest = (self._split(run, start + 1, stop, error) if stop - start > 2
                else self.solve(run, start + 1, stop, True))
        return concatenate_outputs([first, rest], stop - start)

    def _split(self, run: Run, start: int, stop: int, error: BaseException | None,
               repack: bool = False) -> ModelOutput:
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
                    run.layout.first_row(start),
                    describe_error(error),
                )
        parts = run.layout.pack(start, stop, run.byte_ceiling) if repack else []
        if len(parts) < 2:
            middle = (start + stop) // 2
            parts = [(start, middle), (middle, stop)]
        return concatenate_outputs([self.solve(run, a, b, True) for a, b in parts], stop - start)

    def _where(self, run: Run, start: int, stop: int) -> str:
        row = run.layout.first_row(start)
        return f"row {row}" if stop - start == 1 else f"{stop - start} records from row {row}"

    def _too_busy(self, run: Run, start: int, stop: int, error: BaseException) -> ModelError:
        """The endpoint kept refusing as too busy: smaller requests would only add to its load."""
        return ModelError(
            f"The model endpoint kept refusing the request for {self._where(run, start, stop)} as too busy "
            f"({self.retry.attempts_for(error)} attempts, at most {run.slots.limit} request(s) in "
            f"flight by then): {describe_error(error)}. Give the endpoint more capacity or send "
            "fewer requests at once (--concurrency), then run the job again."
        )

    def _refused(self, run: Run, start: int, stop: int, error: BaseException, refusal) -> ModelError:
        """A request and its first record alone refused alike (:meth:`_check_one`)."""
        row = run.layout.first_row(start)
        count, names = run.layout.columns
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

    def _fatal(self, run: Run, start: int, stop: int, error: BaseException) -> ModelError:
        return ModelError(
            f"The model request for {self._where(run, start, stop)} failed with an error that neither retries "
            f"nor smaller requests can fix: {describe_error(error)}. Check the endpoint name or "
            "URL, the credentials and the content/accept types."
        )
