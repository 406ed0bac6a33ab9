"""Token, sentence and paragraph units: the notebook's published splits, several scripts, offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clarify_engine.config._constants import TEXT_LANGUAGES
from clarify_engine.explain.text import pipeline, split_texts
from clarify_engine.job._plan_text import LANGUAGE_CODES
from clarify_engine.explain.text._units import paragraph_spans

FIXTURE = Path(__file__).parents[2] / "fixtures" / "text" / "notebook_review.json"


@pytest.fixture(scope="module")
def review():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _check_offsets(u):
    for unit, start, end in zip(u.units, u.starts.tolist(), u.ends.tolist()):
        assert u.text[start:end] == unit
        assert unit == unit.strip() and unit


def test_notebook_sentences_reproduced_exactly(review):
    (u,) = split_texts([review["text"]], "sentence", pipeline("en"))
    assert u.units == review["sentences"]
    assert u.starts.tolist() == review["sentence_starts"] == [0, 133, 152, 207, 238, 329, 399, 438]


def test_notebook_tokens_reproduced_exactly(review):
    (u,) = split_texts([review["text"]], "token", pipeline("en"))
    assert u.units == review["tokens"]
    assert len(u) == 112
    _check_offsets(u)


def test_online_example_offsets():
    (u,) = split_texts(["This is a good product"], "token", pipeline("en"))
    assert list(zip(u.units, u.starts.tolist())) == [("This", 0), ("is", 5), ("a", 8), ("good", 10),
                                                       ("product", 15)]


MULTI = {
    "ru": ("Привет, мир! Это второе предложение.\n\nНовый абзац здесь. Конец.",
           ["Привет", ",", "мир", "!", "Это", "второе", "предложение", ".", "Новый", "абзац", "здесь", ".",
            "Конец", "."],
           ["Привет, мир!", "Это второе предложение.", "Новый абзац здесь.", "Конец."],
           ["Привет, мир! Это второе предложение.", "Новый абзац здесь. Конец."]),
    "zh": ("我喜欢这件衣服。它很漂亮！\n\n第二段。",
           ["我", "喜", "欢", "这", "件", "衣", "服", "。", "它", "很", "漂", "亮", "！", "第", "二", "段", "。"],
           ["我喜欢这件衣服。", "它很漂亮！", "第二段。"],
           ["我喜欢这件衣服。它很漂亮！", "第二段。"]),
    "hi": ("मुझे यह पोशाक पसंद है। यह बहुत सुंदर है।\n \nदूसरा अनुच्छेद।",
           ["मुझे", "यह", "पोशाक", "पसंद", "है", "।", "यह", "बहुत", "सुंदर", "है", "।", "दूसरा", "अनुच्छेद", "।"],
           ["मुझे यह पोशाक पसंद है।", "यह बहुत सुंदर है।", "दूसरा अनुच्छेद।"],
           ["मुझे यह पोशाक पसंद है। यह बहुत सुंदर है।", "दूसरा अनुच्छेद।"]),
    "el": ("Μου αρέσει πολύ. Είναι όμορφο!\n\n\nΤέλος.",
           ["Μου", "αρέσει", "πολύ", ".", "Είναι", "όμορφο", "!", "Τέλος", "."],
           ["Μου αρέσει πολύ.", "Είναι όμορφο!", "Τέλος."],
           ["Μου αρέσει πολύ. Είναι όμορφο!", "Τέλος."]),
    "ja": ("このドレスが大好きです。とても綺麗！\n\n二段落目。",
           ["この", "ドレス", "が", "大好き", "です", "。", "とても", "綺麗", "！", "二", "段落", "目", "。"],
           ["このドレスが大好きです。", "とても綺麗！", "二段落目。"],
           ["このドレスが大好きです。とても綺麗！", "二段落目。"]),
    "vi": ("Tôi rất thích chiếc váy này. Nó đẹp lắm!\n\nĐoạn hai.",
           ["Tôi", "rất", "thích", "chiếc", "váy", "này", ".", "Nó", "đẹp", "lắm", "!", "Đoạn", "hai", "."],
           ["Tôi rất thích chiếc váy này.", "Nó đẹp lắm!", "Đoạn hai."],
           ["Tôi rất thích chiếc váy này. Nó đẹp lắm!", "Đoạn hai."]),
}


@pytest.mark.parametrize("code", sorted(MULTI))
def test_scripts_token_sentence_paragraph(code):
    text, tokens, sentences, paragraphs = MULTI[code]
    nlp = pipeline(code)
    for granularity, expected in (("token", tokens), ("sentence", sentences), ("paragraph", paragraphs)):
        (u,) = split_texts([text], granularity, nlp)
        assert u.units == expected, granularity
        _check_offsets(u)


def test_sentences_follow_spacy_where_it_does_not_split():
    # spaCy's sentencizer ends sentences at its punctuation only: the Greek question mark
    # (U+037E) is not one, so the sentence runs on across the blank line (kept as spaCy does it).
    (u,) = split_texts(["Μου αρέσει πολύ. Είναι όμορφο\u037e\n\n\nΤέλος."], "sentence", pipeline("el"))
    assert u.units == ["Μου αρέσει πολύ.", "Είναι όμορφο\u037e\n\n\nΤέλος."]


def test_paragraph_rule():
    text = "  First line\nsame paragraph.\n\nSecond.\r\n   \r\nThird\n\n\n\n  \n"
    spans = paragraph_spans(text)
    assert [text[s:e] for s, e in spans] == ["First line\nsame paragraph.", "Second.", "Third"]
    assert spans[0][0] == 2
    assert paragraph_spans("") == [] and paragraph_spans(" \n\n ") == []


def test_sentence_units_never_start_with_whitespace():
    (u,) = split_texts(["One.   Two.\n\n\nThree."], "sentence", pipeline("en"))
    assert u.units == ["One.", "Two.", "Three."]
    _check_offsets(u)


def test_empty_and_blank_texts_have_no_units():
    for granularity in ("token", "sentence", "paragraph"):
        out = split_texts(["", "   \n\n "], granularity, pipeline("en"))
        assert [len(u) for u in out] == [0, 0]


def test_every_clarify_language_builds_offline():
    assert len(TEXT_LANGUAGES) == 126 and len(set(LANGUAGE_CODES.values())) == 63
    assert LANGUAGE_CODES["norwegian bokmål"] == "nb" and LANGUAGE_CODES["multi-language"] == "xx"
    for code in sorted(set(LANGUAGE_CODES.values())):
        (u,) = split_texts(["Hello world. Second one."], "token", pipeline(code))
        assert len(u) >= 4, code
