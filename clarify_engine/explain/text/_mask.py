"""Rebuilding a text with some units absent: each absent unit's span replaced by the baseline.

The text is rebuilt from the original string by character spans, so a present unit and the
whitespace between two present neighbours are sent exactly as written. With a non-empty
baseline string every absent unit becomes that string (``"a b c"`` without ``b`` and baseline
``"[MASK]"`` is ``"a [MASK] c"``). With the empty baseline (Clarify's default: the unit is
dropped) the whitespace runs that would meet are not doubled: between two kept units the
separator is the first non-empty gap of the original between them (``"a b c"`` without ``b``
is ``"a c"``); the text before the first kept unit and after the last one is kept as written
(``"a b c"`` without ``a`` is ``"b c"``, without ``c`` is ``"a b"``).
"""

from __future__ import annotations

import numpy as np

from clarify_engine.explain.text._units import TextUnits

__all__ = ["rebuild"]


def rebuild(units: TextUnits, present: np.ndarray, baseline: str) -> str:
    """``units.text`` with the units where ``present`` is False replaced by ``baseline``.

    Parameters
    ----------
    units : TextUnits
    present : array of bool (U,)
        True where the unit is kept.
    baseline : str
        The replacement of an absent unit; ``""`` drops it (see the module notes).

    Returns
    -------
    str
    """
    text = units.text
    starts, ends = units.starts.tolist(), units.ends.tolist()
    n = len(starts)
    if n == 0:
        return text
    keep = np.asarray(present, dtype=bool).tolist()
    if len(keep) != n:
        raise ValueError(f"present has {len(keep)} entries; the text has {n} units")
    if baseline or all(keep):
        out = [text[:starts[0]]]
        for j in range(n):
            out.append(text[starts[j]:ends[j]] if keep[j] else baseline)
            out.append(text[ends[j]:starts[j + 1]] if j + 1 < n else text[ends[j]:])
        return "".join(out)
    out = [text[:starts[0]]]
    sep = None  # first non-empty gap since the last kept unit; None before the first one
    for j in range(n):
        if keep[j]:
            if sep is not None:
                out.append(sep)
            out.append(text[starts[j]:ends[j]])
            sep = ""
        if j + 1 < n and sep is not None and not sep:
            sep = text[ends[j]:starts[j + 1]]
    out.append(text[ends[-1]:])
    return "".join(out)
