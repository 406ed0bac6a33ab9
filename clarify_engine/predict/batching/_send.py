"""One request, sent with retries: the transport, the response codec and the retry policy."""

from __future__ import annotations

import logging
import time
from typing import Callable

from clarify_engine.errors import ModelError
from clarify_engine.predict._base import ModelOutput, ResponseCodec, Transport, TransportError, check_output_count
from clarify_engine.predict.batching._retry import RetryPolicy, describe_error, is_throttling
from clarify_engine.predict.batching._run import Aborted, Run, Slot

__all__ = ["Sender"]

logger = logging.getLogger(__name__)


class Sender:
    """Send one body and decode its reply, retrying transient faults with backoff.

    Parameters
    ----------
    transport, content_type, response_codec, retry
        What the body goes through, as the :class:`~clarify_engine.predict.Batcher` has them.
    sleep : callable or None
        ``sleep(seconds)`` between attempts. None waits on the run's abort event, so that a
        failing run does not sit out its backoff delays.
    random : callable
        Uniform [0, 1) source of the backoff jitter.
    """

    def __init__(self, transport: Transport, content_type: str, response_codec: ResponseCodec,
                 retry: RetryPolicy, sleep: Callable[[float], None] | None, random: Callable[[], float]):
        self.transport = transport
        self.content_type = content_type
        self.response_codec = response_codec
        self.retry = retry
        self._sleep = sleep
        self._random = random

    def send(self, run: Run, body: bytes, n: int) -> ModelOutput:
        """One request with retries; returns its n answers or raises the last error."""
        codec = self.response_codec
        attempt = 0
        while True:
            attempt += 1
            if run.abort.is_set():
                raise Aborted()
            try:
                with Slot(run) as slot:
                    self._wait_for_resume(run)
                    run.count("requests_sent")
                    try:
                        reply = self.transport.send(body, content_type=self.content_type, accept=codec.accept_type)
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
                check_output_count(output, n)
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
                self.pause(run, delay)
                continue
            run.count("rows_done", n)
            return output

    def _note_retry_after(self, run: Run, error: TransportError) -> None:
        """A reply that said Retry-After pauses the whole run, not just the request it refused."""
        if error.retry_after is None:
            return
        until = time.monotonic() + min(error.retry_after, self.retry.max_retry_after)
        with run.lock:
            run.resume_at = max(run.resume_at, until)

    def _wait_for_resume(self, run: Run) -> None:
        pause = run.resume_at - time.monotonic()
        if pause > 0:
            self.pause(run, pause)

    def pause(self, run: Run, seconds: float) -> None:
        """Wait ``seconds`` (the injected ``sleep``, or until a failure elsewhere ends the run)."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif run.abort.wait(seconds):
            raise Aborted()
