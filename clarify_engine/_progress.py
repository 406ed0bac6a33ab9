"""Progress of a long stage: a tqdm bar on a terminal, timestamped log lines otherwise.

A :class:`Progress` has a stage name, a total and a unit. Callers update it once per block,
chunk or file (never per row), so it costs nothing in the hot loops.

Where it shows:

- **bar**: when stderr is a terminal and the ``clarify_engine`` logger shows INFO (not
  ``--quiet``), a tqdm bar on stderr with done/total, rate and ETA.
- **log**: otherwise (the container, a pipe, the thin client's ``wait(logs=True)``), an INFO
  line on the ``clarify_engine`` logger at most every :data:`DEFAULT_SECONDS` seconds, and one
  when the stage ends::

      SHAP: 40 of 100 rows (40%), 12.3 rows/s, ETA 5 s
      SHAP: 100 of 100 rows done in 8.1 s (12.3 rows/s)

The environment can choose: ``CLARIFY_PROGRESS`` = ``auto`` (default), ``bar``, ``log`` or
``off``; ``CLARIFY_PROGRESS_SECONDS`` = seconds between log lines (default 10).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from clarify_engine.errors import ConfigError

__all__ = ["DEFAULT_SECONDS", "MODES", "Progress", "mode"]

log = logging.getLogger(__name__)

#: Seconds between progress log lines unless ``CLARIFY_PROGRESS_SECONDS`` says otherwise.
DEFAULT_SECONDS = 10.0

#: Values of ``CLARIFY_PROGRESS``.
MODES = ("auto", "bar", "log", "off")


def _env_mode() -> str:
    value = os.environ.get("CLARIFY_PROGRESS", "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ConfigError(
            "CLARIFY_PROGRESS",
            f"expected one of {', '.join(MODES)}, found {value!r}; "
            "unset it or set CLARIFY_PROGRESS=auto.",
        )
    return value


def _env_seconds() -> float:
    raw = os.environ.get("CLARIFY_PROGRESS_SECONDS")
    if raw is None or not raw.strip():
        return DEFAULT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise ConfigError(
            "CLARIFY_PROGRESS_SECONDS",
            f"expected seconds > 0, found {raw!r}; unset it for the default of {DEFAULT_SECONDS:g}.",
        )
    return seconds


def mode(stream=None) -> str:
    """How progress shows now: ``"bar"``, ``"log"`` or ``"off"``.

    ``auto`` is ``bar`` when ``stream`` (stderr by default) is a terminal and the
    ``clarify_engine`` logger shows INFO, ``log`` when it shows INFO otherwise, else ``off``.
    """
    chosen = _env_mode()
    if chosen != "auto":
        return chosen
    if not log.isEnabledFor(logging.INFO):
        return "off"
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return "bar" if isatty is not None and isatty() else "log"
    except ValueError:  # a closed stream
        return "log"


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # not a file descriptor, or not a terminal
        return 0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Done/total of one stage, shown as a bar or as log lines (see the module docstring).

    Parameters
    ----------
    stage : str
        Name at the start of every line or bar, e.g. ``"SHAP"``.
    total : int
        Units the stage will do.
    unit : str, default "rows"
        What is counted (plural), e.g. ``"rows"``, ``"files"``, ``"grid values"``.
    lines : bool, default True
        False: no log lines (the caller logs its own, e.g. the Batcher's), a bar only.
    stream : file or None
        Where the bar goes and whose ``isatty`` picks the mode; stderr by default.
    leave : bool, default True
        Keep the finished bar on the terminal (False for a stage nested in another).

    Use it as a context manager: leaving the block normally logs (or draws) the final state;
    leaving it by an exception closes the bar and logs nothing more.
    """

    def __init__(self, stage: str, total: int, unit: str = "rows", *, lines: bool = True, stream=None,
                 leave: bool = True):
        self.stage = stage
        self.total = max(int(total), 0)
        self.unit = unit
        self.done = 0
        stream = stream if stream is not None else sys.stderr
        self.mode = mode(stream)
        if self.mode == "log" and not lines:
            self.mode = "off"
        self.interval = _env_seconds() if self.mode == "log" else DEFAULT_SECONDS
        self._started = self._last = time.monotonic()
        self._bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            # A terminal that reports no size (0 x 0, e.g. a fresh pseudo-terminal) would hide the bar.
            size = {} if _columns(stream) > 0 else {"ncols": 80, "nrows": 24}
            self._bar = tqdm(total=self.total, desc=stage, unit=" " + unit, file=stream,
                             dynamic_ncols=not size, mininterval=0.5, leave=leave, **size)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(finished=exc_type is None)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done (call once per block, chunk or file)."""
        self.done += int(n)
        if self._bar is not None:
            self._bar.update(int(n))
        elif self.mode == "log":
            now = time.monotonic()
            if now - self._last >= self.interval and self.done < self.total:
                self._last = now
                log.info("%s", self.line(now - self._started))

    def update_to(self, done: int, total: int | None = None) -> None:
        """Set the count to ``done`` (and the total to ``total``, when it is re-estimated)."""
        if total is not None and int(total) != self.total:
            self.total = max(int(total), 0)
            if self._bar is not None:
                self._bar.total = self.total
        self.update(int(done) - self.done)

    def line(self, elapsed: float) -> str:
        """The log line for ``elapsed`` seconds since the start."""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        percent = 100.0 * self.done / self.total if self.total else 100.0
        eta = _duration(max(self.total - self.done, 0) / rate) if rate > 0 else "unknown"
        return (f"{self.stage}: {self.done} of {self.total} {self.unit} ({percent:.0f}%), "
                f"{rate:.1f} {self.unit}/s, ETA {eta}")

    def close(self, finished: bool = True) -> None:
        """End the stage; ``finished`` logs the final line (log mode)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "log" and finished:
            elapsed = time.monotonic() - self._started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            log.info("%s: %d of %d %s done in %s (%.1f %s/s)", self.stage, self.done, self.total,
                     self.unit, _duration(elapsed) if elapsed >= 1 else f"{elapsed:.1f} s", rate, self.unit)
        self.mode = "off"
