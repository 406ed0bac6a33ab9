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

__all__ = ["Pieces", "joined", "pieces", "rebuild", "rebuild_pieces", "rebuild_rows"]

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


#: Rows rebuilt together by :func:`rebuild_rows`.
_CHUNK = 512


def _parts(units: TextUnits, baseline: str | None) -> list[str]:
    """The parts of a rebuilt text of ``units``: per unit, the unit (``baseline`` None) or
    ``baseline`` followed by the text up to the next unit, the text before the first unit
    folded into the first part; a text without units is one part, itself. A rebuilt text is
    the join of its parts."""
    text = units.text
    starts, ends = units.starts.tolist(), units.ends.tolist()
    if not starts:
        return [text]
    if baseline is None:  # the text cut at each unit's start (the first cut at 0)
        cuts = [0, *starts[1:], len(text)]
        return [text[a:b] for a, b in zip(cuts, cuts[1:])]
    parts = [baseline + text[e:b] for e, b in zip(ends, [*starts[1:], len(text)])]
    parts[0] = text[:starts[0]] + parts[0]
    return parts


def rebuild_rows(texts: Sequence[TextUnits], starts: np.ndarray, record: np.ndarray, base: np.ndarray,
                 baselines: Sequence[str], present: np.ndarray) -> np.ndarray:
    """The texts of many synthetic rows at once, each as :func:`rebuild_pieces` gives it.

    Parameters
    ----------
    texts : sequence of TextUnits
        The units of each record's text.
    starts : array of int (len(texts),)
        Column of ``present`` holding each record's first unit.
    record, base : arrays of int (r,)
        Per row, its record (index into ``texts``) and its baseline string (index into
        ``baselines``), which replaces the row's absent units.
    baselines : sequence of str
    present : array of bool (r, P)
        Row ``i`` keeps unit ``j`` of its record where ``present[i, starts[record[i]] + j]``.

    Returns
    -------
    ndarray of object (r,)
        The text of each row.

    Notes
    -----
    With a non-empty baseline every row is one ``"".join`` of its parts, picked for all rows by
    one ``numpy.where`` over (rows x units) matrices of each record's kept and absent parts
    (padded with ``""``). Rows whose baseline is empty follow the whitespace rule of
    :func:`rebuild_pieces`, row by row.
    """
    n_rows = record.shape[0]
    out = np.empty(n_rows, dtype=object)
    lengths = np.fromiter((len(u) for u in texts), dtype=np.int64, count=len(texts))
    row_len = lengths[record]
    dropped = np.fromiter((not b for b in baselines), dtype=bool, count=len(baselines))[base] & (row_len > 0)
    picked = np.flatnonzero(~dropped)
    if picked.shape[0]:
        width = max(1, int(lengths.max(initial=0)))
        used = np.unique(base[picked]).tolist()
        # one table of parts: block 0 the kept parts of each record, block 1 + k the absent parts
        # with baseline k, each record's row padded with "" to the widest record
        n_text = len(texts)
        table = [""] * ((1 + len(baselines)) * n_text * width)
        for r, u in enumerate(texts):
            parts = _parts(u, None)
            table[r * width:r * width + len(parts)] = parts
            for k in used:
                lo = ((1 + k) * n_text + r) * width
                table[lo:lo + len(parts)] = _parts(u, baselines[k]) if len(u) else parts
        tab = np.fromiter(table, dtype=object, count=len(table))
        j = np.arange(width)
        # in chunks of rows: the index, flag and part matrices of a chunk stay in the CPU cache
        # (one pass over all rows of a call was 2x slower for tokens)
        for lo in range(0, picked.shape[0], _CHUNK):
            rows = picked[lo:lo + _CHUNK]
            rec = record[rows]
            at = rec[:, None] * width + j
            if present.shape[1]:
                # past a record's last unit both parts are "": whatever flag is read there is moot
                cols = np.minimum(starts[rec][:, None] + j, present.shape[1] - 1)
                keep = np.take_along_axis(present[rows], cols, axis=1)
                at = np.where(keep, at, at + (1 + base[rows])[:, None] * (n_text * width))
            else:
                at = at + (1 + base[rows])[:, None] * (n_text * width)
            # fromiter keeps the strings as objects (a list would go through a fixed-width unicode array)
            out[rows] = np.fromiter(map("".join, tab[at].tolist()), dtype=object, count=rows.shape[0])
    rows_dropped = np.flatnonzero(dropped)
    if rows_dropped.shape[0]:
        by_record = rows_dropped[np.argsort(record[rows_dropped], kind="stable")]
        bounds = np.flatnonzero(np.diff(record[by_record])) + 1
        for idx in np.split(by_record, bounds):
            i = int(record[idx[0]])
            cut, lo = pieces(texts[i]), int(starts[i])
            out[idx] = np.fromiter((rebuild_pieces(cut, p, "") for p in present[idx, lo:lo + int(lengths[i])].tolist()),
                                   dtype=object, count=idx.shape[0])
    return out
