"""The job's warnings channel: problems found during a run that do not stop it.

Code that finds such a problem (a label typed so that the given values became a
threshold, an empty facet group, a facet value that occurs in no row...) calls
:func:`warn`. The warning is logged at WARNING on the ``clarify_engine`` logger and
collected by every :func:`collect` block active in the current context, so
:func:`clarify_engine.job.run_job` can put the job's warnings in the run manifest
and in ``analysis.json`` under the top-level extension key ``"warnings"``.

Each warning says what was found (``message``), where (``where``: a column, file or
key) and what to do about it (``fix``); ``code`` is a stable identifier for programs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass
from typing import Iterator

__all__ = ["JobWarning", "collect", "warn"]

log = logging.getLogger("clarify_engine")


@dataclass(frozen=True)
class JobWarning:
    """One problem found during a run.

    Attributes
    ----------
    code : str
        Stable identifier, e.g. ``"values_became_threshold"``.
    message : str
        What was found, with the numbers that show it.
    fix : str
        What the user can change to avoid it.
    where : str
        The column, file or config key at fault, e.g. ``"label column 'Target'"``.
    """

    code: str
    message: str
    fix: str
    where: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form: ``{"code", "where", "message", "fix"}``."""
        return {"code": self.code, "where": self.where, "message": self.message, "fix": self.fix}


_ACTIVE: contextvars.ContextVar[tuple[list, ...]] = contextvars.ContextVar("clarify_engine_warnings", default=())


def warn(code: str, message: str, *, fix: str, where: str) -> JobWarning:
    """Log a warning at WARNING and hand it to every active :func:`collect` block.

    A warning equal to one already collected (same code, place and message, e.g. the
    label's typing seen by both bias stages) is logged and collected once.

    Returns
    -------
    JobWarning
    """
    item = JobWarning(code, message, fix, where)
    collectors = _ACTIVE.get()
    if collectors and all(item in found for found in collectors):
        return item
    log.warning("%s: %s Fix: %s", where, message, fix)
    for found in collectors:
        if item not in found:
            found.append(item)
    return item


@contextlib.contextmanager
def collect() -> Iterator[list[JobWarning]]:
    """Collect the warnings raised inside the block, in order, into the yielded list.

    Blocks nest: a warning goes to every enclosing block.
    """
    found: list[JobWarning] = []
    token = _ACTIVE.set((*_ACTIVE.get(), found))
    try:
        yield found
    finally:
        _ACTIVE.reset(token)
