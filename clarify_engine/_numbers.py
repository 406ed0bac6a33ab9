"""The one "is this a number" test, shared by the model client, the baselines and the readers."""

from __future__ import annotations

__all__ = ["is_number"]


def is_number(value: object, *, booleans: bool = False) -> bool:
    """True when ``value`` reads as a number: ``float(value)`` takes it (a numeric string,
    blanks around it allowed, an int, a float, a numpy number), and it is not a bool unless
    ``booleans``.
    """
    if isinstance(value, bool):
        return booleans
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True
