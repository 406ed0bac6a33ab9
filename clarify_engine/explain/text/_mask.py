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

from typing import Sequence

import numpy as np

from clarify_engine.explain.text._units import TextUnits

__all__ = ["Pieces", "joined", "pieces", "rebuild", "rebuild_pieces"]

#: ``(prefix, units, gaps)``: the text before the first unit, the unit strings, and the text
#: after each unit up to the next one (the last gap runs to the end of the text).
Pieces = tuple[str, tuple, tuple]


def pieces(units: TextUnits) -> Pieces:
    """The text of ``units`` cut at its unit boundaries (see :data:`Pieces`)."""
    text = units.text
    starts, ends = units.starts.tolist(), units.ends.tolist()
    if not starts:
        return text, (), ()
    gaps = tuple(text[ends[j]:starts[j + 1]] for j in range(len(starts) - 1)) + (text[ends[-1]:],)
    return text[:starts[0]], tuple(text[s:e] for s, e in zip(starts, ends)), gaps


def joined(cut: Pieces, baseline: str | None = None) -> tuple:
    """Each unit (or ``baseline`` in its place) followed by its gap: the parts of a rebuilt text."""
    _, unit_strings, gaps = cut
    if baseline is None:
        return tuple(u + g for u, g in zip(unit_strings, gaps))
    return tuple(baseline + g for g in gaps)


def rebuild_pieces(cut: Pieces, present: Sequence[bool], baseline: str, parts: tuple | None = None) -> str:
    """The text of ``cut`` with the units where ``present`` is false replaced by ``baseline``.

    ``parts``, optional: ``(joined(cut), joined(cut, baseline))`` computed once by a caller that
    rebuilds the same text many times (a non-empty baseline only).
    """
    prefix, unit_strings, gaps = cut
    if baseline:
        kept, absent = parts if parts is not None else (joined(cut), joined(cut, baseline))
        return prefix + "".join([k if p else a for k, a, p in zip(kept, absent, present)])
    out = [prefix]
    sep = None  # first non-empty gap since the last kept unit; None before the first one
    for u, g, p in zip(unit_strings, gaps, present):
        if p:
            if sep:
                out.append(sep)
            out.append(u)
            sep = g
        elif sep == "":
            sep = g
    if unit_strings:
        out.append(gaps[-1])
    return "".join(out)


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
    keep = np.asarray(present, dtype=bool).tolist()
    if len(keep) != len(units):
        raise ValueError(f"present has {len(keep)} entries; the text has {len(units)} units")
    return rebuild_pieces(pieces(units), keep, baseline)
