"""Sentence spans: spaCy's ``sentencizer`` rule applied to the tokenizer's token arrays.

``nlp.pipe`` with the rule-based ``sentencizer`` and then ``doc.sents`` cost about five times
the tokenizer itself on short reviews (``docs/performance.md``, "Text SHAP"): the component
walks each document token by token in Python-level code and ``doc.sents`` builds a ``Span`` per
sentence. This module runs only the tokenizer, reads each document's tokens as one integer
array (``Doc.to_array``), and applies the sentencizer's rule to all documents at once with
numpy. The rule, as spaCy's ``Sentencizer.predict`` states it: walking the tokens of a document,
a token whose text is one of the component's ``punct_chars`` sets a flag; the next token that is
neither such a character nor ``is_punct`` starts a new sentence and clears the flag; the first
token always starts one. Each sentence runs from its first token's offset to the end of the
token before the next start (``Span.start_char`` / ``end_char``).

The spans are identical to spaCy's (a hypothesis test compares them on generated texts in
several languages and scripts). A pipeline that is not a blank tokenizer plus ``sentencizer``,
or a tokenizer that marks sentence starts itself, is left to spaCy (:func:`spacy_sentence_spans`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["sentence_arrays", "sentence_spans", "spacy_sentence_spans"]


def spacy_sentence_spans(texts: Sequence[str], nlp) -> list[list[tuple[int, int]]]:
    """``(start_char, end_char)`` of every ``doc.sents`` span of each text, through ``nlp.pipe``."""
    return [[(s.start_char, s.end_char) for s in doc.sents] for doc in nlp.pipe(texts)]


def _attrs():
    from spacy.attrs import IDX, IS_PUNCT, LENGTH, ORTH, SENT_START
    return [IDX, LENGTH, IS_PUNCT, ORTH, SENT_START]


def sentence_spans(texts: Sequence[str], nlp) -> list[list[tuple[int, int]]]:
    """``(start_char, end_char)`` of every sentence of each text, as spaCy's ``doc.sents`` gives.

    Parameters
    ----------
    texts : sequence of str
    nlp : spacy.Language
        A blank pipeline whose only component is the ``sentencizer``
        (:func:`._languages.pipeline`); any other pipeline goes through ``nlp.pipe``.

    Returns
    -------
    list of list of (int, int)
        Per text, the character span of each sentence (trailing whitespace of the last token
        excluded, leading whitespace tokens included, as in spaCy); no span for a text without
        tokens.
    """
    starts, ends, counts = sentence_arrays(texts, nlp)
    out, pos = [], 0
    for k in counts:
        out.append(list(zip(starts[pos:pos + k], ends[pos:pos + k])))
        pos += k
    return out


def sentence_arrays(texts: Sequence[str], nlp) -> tuple[list[int], list[int], list[int]]:
    """:func:`sentence_spans` flat: the start and end offsets of every sentence of every text,
    in text order, and the number of sentences of each text."""
    if list(nlp.pipe_names) != ["sentencizer"]:
        return _flat(spacy_sentence_spans(texts, nlp))
    from spacy.strings import hash_string

    attrs = _attrs()
    tokenizer = nlp.tokenizer
    arrays = [tokenizer(t).to_array(attrs) for t in texts]
    n_tokens = np.fromiter((a.shape[0] for a in arrays), dtype=np.int64, count=len(arrays))
    if not n_tokens.sum():
        return [], [], [0] * len(texts)
    tokens = np.concatenate([a for a in arrays if a.shape[0]]).view(np.uint64)
    doc_start = np.cumsum(n_tokens) - n_tokens
    first = np.zeros(tokens.shape[0], dtype=bool)
    first[doc_start[n_tokens > 0]] = True
    if np.any(tokens[~first, 4]):  # the tokenizer set sentence starts of its own: spaCy decides
        return _flat(spacy_sentence_spans(texts, nlp))
    punct_ids = np.array(sorted(hash_string(c) for c in nlp.get_pipe("sentencizer").punct_chars), dtype=np.uint64)
    is_char = np.isin(tokens[:, 3], punct_ids)
    ordinary = ~(is_char | tokens[:, 2].astype(bool))
    chars = np.cumsum(is_char)  # punct chars up to and including each token
    # an ordinary token starts a sentence when a punct char lies between it and the previous
    # ordinary token of its document (or the document's start, the first token included)
    marks = np.flatnonzero(ordinary | first)
    before = np.where(first[marks], chars[marks] - is_char[marks], chars[marks])
    new = ordinary[marks] & ~first[marks]
    new[1:] &= chars[marks[1:]] > before[:-1]
    start = first.copy()
    start[marks[new]] = True
    s_tok = np.flatnonzero(start)
    e_tok = np.append(s_tok[1:], tokens.shape[0]) - 1
    offset = tokens[:, 0].astype(np.int64)
    per_doc = np.bincount(np.searchsorted(doc_start, s_tok, side="right") - 1, minlength=len(texts))
    return (offset[s_tok].tolist(), (offset[e_tok] + tokens[e_tok, 1].astype(np.int64)).tolist(),
            per_doc.tolist())


def _flat(spans: list[list[tuple[int, int]]]) -> tuple[list[int], list[int], list[int]]:
    return [s for doc in spans for s, _ in doc], [e for doc in spans for _, e in doc], [len(doc) for doc in spans]
