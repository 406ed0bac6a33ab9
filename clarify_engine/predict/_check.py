"""One wording, and one error family, for a bad argument of the model client's classes.

Every check reads ``{owner}.{name}: expected {what}{hint}, found {value!r}``, e.g.
``Batcher.concurrency: expected an int >= 1, found 0``; ``hint`` names where a user sets the
value (``" (--timeout)"``). A value out of range raises
:class:`~clarify_engine.errors.ConfigError` (a :class:`ValueError`) with the path
``owner.name``; a value of the wrong type raises :class:`ArgumentTypeError`, which is both a
``ConfigError`` and a :class:`TypeError`. So the command line reports either as a usage
error, and Python callers catch what Python's conventions lead them to expect.
"""

from __future__ import annotations

import numbers

from clarify_engine.errors import ConfigError

__all__ = ["ArgumentTypeError", "argument_error", "positive_int", "positive_seconds"]


class ArgumentTypeError(ConfigError, TypeError):
    """An argument of the wrong type (a :class:`ConfigError` and a :class:`TypeError`)."""


def argument_error(owner: str, name: str, what: str, value: object, *, hint: str = "",
                   wrong_type: bool = False) -> ConfigError:
    """The error for argument ``owner.name`` holding ``value`` where ``what`` was expected."""
    kind = ArgumentTypeError if wrong_type else ConfigError
    return kind(f"{owner}.{name}", f"expected {what}{hint}, found {value!r}")


def positive_int(owner: str, name: str, value: object, *, minimum: int = 1, hint: str = "") -> int:
    """``value`` as an int when it is one (not a bool) and at least ``minimum``; else the error."""
    what = f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise argument_error(owner, name, what, value, hint=hint, wrong_type=True)
    if value < minimum:
        raise argument_error(owner, name, what, value, hint=hint)
    return int(value)


def positive_seconds(owner: str, name: str, value: object, *, hint: str = "", zero: bool = False) -> float:
    """``value`` as float seconds when it is a number > 0 (>= 0 with ``zero``); else the error."""
    what = "seconds >= 0" if zero else "seconds > 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise argument_error(owner, name, what, value, hint=hint, wrong_type=True)
    seconds = float(value)
    if not (seconds >= 0 if zero else seconds > 0):  # NaN fails both
        raise argument_error(owner, name, what, value, hint=hint)
    return seconds
