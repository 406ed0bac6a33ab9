"""Text units: token, sentence and paragraph spans of a text, with their character offsets.

Rules (``docs/text.md``):

* token: every spaCy token that is not whitespace (``Token.text`` at ``Token.idx``);
  punctuation and clitics (``"it"``, ``"'s"``) are units of their own;
* sentence: every span of spaCy's rule-based ``sentencizer``, with the whitespace at its
  ends removed (spaCy puts a run of blank lines at the start of the next sentence);
* paragraph: the text split at blank lines (a line break, then only whitespace up to the
  next line break), each piece without the whitespace at its ends, empty pieces dropped.

A unit is a span ``[start, end)`` of the original text, so rebuilding a text from its units
(:mod:`._mask`) sends every present unit exactly as it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from clarify_engine.explain.text._sentences import sentence_arrays

__all__ = ["GRANULARITIES", "TextUnits", "paragraph_spans", "split_texts"]

GRANULARITIES = ("token", "sentence", "paragraph")

#: A paragraph break: a line break, optional horizontal space, another line break, and any
#: whitespace after it. ``\r\n`` line ends count as line breaks.
_PARAGRAPH_BREAK = re.compile(r"\r?\n[^\S\r\n]*\r?\n\s*")


@dataclass(frozen=True)
class TextUnits:
    """The units of one text.

    Attributes
    ----------
    text : str
        The original text.
    starts, ends : ndarray of int64 (U,)
        Character offsets of each unit in ``text`` (``text[starts[j]:ends[j]]`` is unit ``j``),
        increasing and not overlapping.
    """

    text: str
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def units(self) -> list[str]:
        """The unit strings, in text order."""
        return [self.text[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist())]


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _make(text: str, spans: Iterable[tuple[int, int]]) -> TextUnits:
    kept = [(s, e) for s, e in spans if e > s]
    arr = np.asarray(kept, dtype=np.int64).reshape(-1, 2)
    return TextUnits(text=text, starts=np.ascontiguousarray(arr[:, 0]), ends=np.ascontiguousarray(arr[:, 1]))


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each paragraph of ``text`` (split at blank lines, ends stripped)."""
    spans, pos = [], 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        spans.append(_stripped(text, pos, brk.start()))
        pos = brk.end()
    spans.append(_stripped(text, pos, len(text)))
    return [(s, e) for s, e in spans if e > s]


def _token_units(doc) -> TextUnits:
    return _make(doc.text, ((t.idx, t.idx + len(t.text)) for t in doc if not t.is_space))


def split_texts(texts: Sequence[str], granularity: str, nlp) -> list[TextUnits]:
    """The units of each text.

    Parameters
    ----------
    texts : sequence of str
    granularity : {"token", "sentence", "paragraph"}
    nlp : spacy.Language
        A pipeline with a tokenizer and a ``sentencizer`` (:func:`._languages.pipeline`);
        not used for paragraphs.

    Returns
    -------
    list of TextUnits
        One per text, in order; an empty or all-whitespace text has no unit.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}; found {granularity!r}")
    if granularity == "paragraph":
        return [_make(t, paragraph_spans(t)) for t in texts]
    if granularity == "token":
        # the sentencizer is not needed for tokens: run the tokenizer only
        return [_token_units(doc) for doc in nlp.tokenizer.pipe(texts)]
    # spaCy's sentencizer rule on the tokenizer's arrays (._sentences): the same spans as
    # nlp.pipe + doc.sents, without a Python-level walk over every token of every text
    return _sentence_units(texts, *sentence_arrays(texts, nlp))


def _sentence_units(texts: Sequence[str], starts: list[int], ends: list[int], counts: list[int]) -> list[TextUnits]:
    """Each text's sentences without the whitespace at their ends, empty ones dropped."""
    keep = []
    pos = 0
    for text, k in zip(texts, counts):
        for q in range(pos, pos + k):
            s, e = starts[q], ends[q]
            if text[s].isspace() or text[e - 1].isspace():
                s, e = starts[q], ends[q] = _stripped(text, s, e)
            keep.append(e > s)
        pos += k
    kept = np.asarray(keep, dtype=bool)
    s_arr = np.asarray(starts, dtype=np.int64)[kept]
    e_arr = np.asarray(ends, dtype=np.int64)[kept]
    per_text = np.bincount(np.repeat(np.arange(len(texts)), counts)[kept], minlength=len(texts))
    out, lo = [], 0
    for text, hi in zip(texts, np.cumsum(per_text).tolist()):
        out.append(TextUnits(text=text, starts=s_arr[lo:hi], ends=e_arr[lo:hi]))
        lo = hi
    return out
