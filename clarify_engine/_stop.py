"""The process-wide stop flag: how a job ends on SIGTERM (``StopProcessingJob``).

A signal handler that raises lands in whatever code runs at that moment: inside a boto3 call
that has already created an endpoint, inside a ``__del__`` whose exceptions Python discards,
inside ``threading.Event.set``'s lock. So the handler here raises nothing and sets nothing
itself: Python's C-level handler writes the signal number to a pipe
(:func:`signal.set_wakeup_fd`), a watcher thread reads it and sets the flag, and the job's own
loops notice the flag at points where stopping is safe (:func:`check` raises
:class:`JobStopped` there). The batcher's pipeline, the Kernel SHAP block loop, the PDP loop,
the dataset readers and :mod:`clarify_engine.job` between methods check it.

A job that does not reach a check in time (a long computation in C, a hung call) is ended by
the watcher after a grace period (:data:`GRACE_ENV`, default :data:`DEFAULT_GRACE_SECONDS`),
through the ``on_deadline`` callback given to :func:`install_sigterm`. Code that must not be
cut in two by that deadline (creating an AWS resource and recording that it exists; deleting
it) runs inside :func:`guarded`; the watcher waits for it, at most :data:`GUARD_LIMIT_SECONDS`
more.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Callable, Iterator

from clarify_engine.errors import ClarifyError

__all__ = [
    "JobStopped",
    "STOP_MESSAGE",
    "check",
    "guarded",
    "install_sigterm",
    "is_set",
    "request_stop",
    "sleep",
]

log = logging.getLogger("clarify_engine")

#: The reason written to ``/opt/ml/output/message`` (and stderr) when a job is stopped.
STOP_MESSAGE = "Signal 15 received, cleaning up. The job was stopped before it finished."
#: Seconds the job has, after SIGTERM, to reach a check and clean up before the watcher ends it.
GRACE_ENV = "CLARIFY_STOP_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 20.0
#: Longest wait of a loop between two checks while it waits for workers (seconds).
POLL_SECONDS = 0.2
#: Extra seconds the watcher waits for a :func:`guarded` section to end after the grace period.
GUARD_LIMIT_SECONDS = 60.0

_stopped = threading.Event()
_guard = threading.Condition()
_guard_depth = 0


class JobStopped(BaseException):
    """Raised by :func:`check` once the job was asked to stop (SIGTERM).

    A ``BaseException``, so ``except Exception`` blocks let it through.
    """


def is_set() -> bool:
    """True once the job was asked to stop."""
    return _stopped.is_set()


def check() -> None:
    """Raise :class:`JobStopped` if the job was asked to stop; otherwise return at once."""
    if _stopped.is_set():
        raise JobStopped()


def sleep(seconds: float) -> None:
    """Wait ``seconds``, or raise :class:`JobStopped` as soon as the job is asked to stop."""
    if _stopped.wait(seconds):
        raise JobStopped()


def request_stop() -> None:
    """Set the flag (from any thread but a signal handler's frame)."""
    _stopped.set()


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """A section the stop deadline does not cut in two (the flag itself is not checked here)."""
    global _guard_depth
    with _guard:
        _guard_depth += 1
    try:
        yield
    finally:
        with _guard:
            _guard_depth -= 1
            _guard.notify_all()


def _wait_for_guarded(limit: float) -> None:
    deadline = time.monotonic() + limit
    with _guard:
        while _guard_depth > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("A guarded step (AWS resource creation or cleanup) is still running %g s after "
                          "the grace period; ending the job anyway", limit)
                return
            _guard.wait(left)


def grace_seconds() -> float:
    """The grace period from :data:`GRACE_ENV`, or the default.

    Raises
    ------
    ClarifyError
        The variable is not a number of seconds >= 0 (names it and the fix).
    """
    text = os.environ.get(GRACE_ENV)
    if text is None:
        return DEFAULT_GRACE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ClarifyError(f"{GRACE_ENV}: expected a number of seconds >= 0, found {text!r}; unset it for "
                         f"the default {DEFAULT_GRACE_SECONDS:g}")
    return value


def _ignore(signum, frame) -> None:
    """The Python-level SIGTERM handler: nothing; the watcher thread reads the wakeup pipe."""


def install_sigterm(on_deadline: Callable[[], None], grace: float | None = None) -> Callable[[], None]:
    """Turn SIGTERM into the stop flag, with a deadline; returns a function that undoes it.

    Parameters
    ----------
    on_deadline : callable
        Called from the watcher thread when the job has not ended ``grace`` seconds after
        SIGTERM (and no :func:`guarded` section runs); it should end the process
        (``os._exit``).
    grace : float, optional
        Seconds; default :func:`grace_seconds`.

    Notes
    -----
    Call from the main thread. The flag is process-wide and stays set once set.
    """
    grace = grace_seconds() if grace is None else grace
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_handler = signal.signal(signal.SIGTERM, _ignore)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def watch() -> None:
        try:
            while True:
                data = os.read(read_fd, 64)
                if not data:
                    return  # uninstalled
                if signal.SIGTERM in data:
                    break
        finally:
            os.close(read_fd)
        log.warning("Signal %d received, cleaning up", signal.SIGTERM)
        _stopped.set()
        time.sleep(grace)
        _wait_for_guarded(GUARD_LIMIT_SECONDS)
        log.error("The job did not end within %g s of the stop signal; ending it now", grace)
        on_deadline()

    watcher = threading.Thread(target=watch, name="clarify-stop-watcher", daemon=True)
    watcher.start()

    def uninstall() -> None:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous_handler)
        os.close(write_fd)  # the watcher's read returns b"" unless the stop is under way

    return uninstall
