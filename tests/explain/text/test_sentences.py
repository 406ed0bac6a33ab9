"""Sentence spans from the tokenizer's arrays equal spaCy's ``nlp.pipe`` + ``doc.sents``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain.text import pipeline, split_texts
from clarify_engine.explain.text._languages import _missing_modules
from clarify_engine.explain.text._sentences import sentence_spans, spacy_sentence_spans

#: Pieces that move sentence boundaries: the sentencizer's characters in several scripts, runs of
#: them, punctuation that is not one (quotes, brackets), abbreviations and numbers whose period
#: is inside a token, whitespace runs and line breaks, and words in several scripts.
PIECES = [
    "word", "Dress", "fits", "Mr.", "e.g.", "U.S.", "3.5", "10", "...", "?!", "!", "?", ".", "。", "！", "？",
    "।", "؟", "۔", "՜", "…", "\u00bf", "\"", "'", "(", ")", "«", "»", "-", ",", ";", ":", "Это", "хорошо",
    "这很好", "非常", "دا", "جيد", "बहुत", "अच्छा", "今日は", "テスト", "ดีมาก", "rất", "tốt", "😀",
    " ", "  ", "\n", "\n\n", "\t", " \n ",
]

LANGUAGES = ["en", "de", "fr", "ru", "zh", "ar", "hi", "xx", "ja", "th", "vi"]

texts = st.lists(st.lists(st.sampled_from(PIECES), max_size=25).map("".join), min_size=1, max_size=6)


def _installed(code):
    return not _missing_modules(code)


@pytest.mark.parametrize("code", LANGUAGES)
@settings(max_examples=60, deadline=None)
@given(batch=texts)
def test_sentence_spans_equal_spacys(code, batch):
    if not _installed(code):
        pytest.skip(f"the {code!r} tokenizer's package is not installed")
    nlp = pipeline(code)
    assert list(nlp.pipe_names) == ["sentencizer"]  # the array path, not the fallback, is compared
    assert sentence_spans(batch, nlp) == spacy_sentence_spans(batch, nlp)


@pytest.mark.parametrize("text", [
    ".Leading period. Then words", "!!! Wow", "\"Quoted.\" After", "(A.) B", " . . x", "", "   ", "a", "x. ",
    "Ends with punct.", "Mr. Smith left. He said: \"no!\" Really?", "这很好。非常好！还有", "Tab\tbefore. After\n\nPara.",
])
def test_sentence_spans_equal_spacys_on_edge_cases(text):
    nlp = pipeline("en")
    batch = [text, "", "One. Two.", text]
    assert sentence_spans(batch, nlp) == spacy_sentence_spans(batch, nlp)


def test_a_pipeline_with_more_components_goes_through_spacy():
    import spacy
    from spacy.language import Language

    if not Language.has_factory("every_token_a_sentence"):
        @Language.component("every_token_a_sentence")
        def every_token_a_sentence(doc):
            for token in doc[1:]:
                token.is_sent_start = True
            return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("every_token_a_sentence")  # the sentencizer's rule alone would give 2 sentences
    assert sentence_spans(["one two. three"], nlp) == [[(0, 3), (4, 7), (7, 8), (9, 14)]]


@settings(max_examples=100, deadline=None)
@given(batch=texts)
def test_sentence_units_are_spacys_sentences_stripped(batch):
    """split_texts' sentence units: each spaCy sentence without the whitespace at its ends, the
    empty ones dropped, whatever whitespace the sentences begin or end with."""
    nlp = pipeline("en")
    got = split_texts(batch, "sentence", nlp)
    for text, units, spans in zip(batch, got, spacy_sentence_spans(batch, nlp)):
        expected = [text[s:e].strip() for s, e in spans if text[s:e].strip()]
        assert units.units == expected
        assert all(text[s:e] == u for s, e, u in zip(units.starts.tolist(), units.ends.tolist(), units.units))


def test_split_texts_units_unchanged_for_sentences():
    nlp = pipeline("en")
    (u,) = split_texts(["  First one.   Second one!\n\n\nThird?  "], "sentence", nlp)
    assert u.units == ["First one.", "Second one!", "Third?"]
    assert u.starts.tolist() == [2, 15, 29]
