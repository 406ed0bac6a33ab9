"""Rebuilding texts from units: present units sent as written, absent ones replaced."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clarify_engine.explain.text import TextUnits, pipeline, rebuild, split_texts
from tests.explain.text.naive import naive_rebuild


def _units(text, granularity="token"):
    (u,) = split_texts([text], granularity, pipeline("en"))
    return u


def test_baseline_string_replaces_each_absent_unit():
    u = _units("I love  this dress!")
    assert rebuild(u, np.array([1, 0, 1, 1, 1], bool), "[MASK]") == "I [MASK]  this dress!"
    assert rebuild(u, np.array([1, 1, 1, 0, 0], bool), "<PAD>") == "I love  this <PAD><PAD>"
    assert rebuild(u, np.ones(5, bool), "[MASK]") == "I love  this dress!"


def test_empty_baseline_drops_units_without_doubling_whitespace():
    u = _units("a b c")
    cases = {(1, 0, 1): "a c", (0, 1, 1): "b c", (1, 1, 0): "a b", (0, 0, 0): "", (0, 1, 0): "b"}
    for present, expected in cases.items():
        assert rebuild(u, np.array(present, bool), "") == expected


def test_sentences_keep_their_exact_bytes():
    text = "First  one.\tSecond\u00a0one!\n\nThird."
    u = _units(text, "sentence")
    assert rebuild(u, np.array([1, 0, 1], bool), "") == "First  one.\tThird."
    assert rebuild(u, np.array([0, 1, 1], bool), "[MASK]") == "[MASK]\tSecond\u00a0one!\n\nThird."


words = st.lists(st.text(alphabet="abcé,.!?' ", min_size=0, max_size=6), min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(words, st.data(), st.sampled_from(["", "[MASK]", "<PAD>"]))
def test_rebuild_equals_naive_twin(parts, data, baseline):
    text = " ".join(parts)
    u = _units(text)
    present = data.draw(st.lists(st.booleans(), min_size=len(u), max_size=len(u)))
    starts, ends = u.starts.tolist(), u.ends.tolist()
    gaps = [text[:starts[0]] if starts else text]
    gaps += [text[ends[j]:starts[j + 1]] for j in range(len(starts) - 1)]
    if starts:
        gaps.append(text[ends[-1]:])
    got = rebuild(u, np.array(present, bool), baseline)
    assert got == (naive_rebuild(u.units, gaps, present, baseline) if starts else text)
    if all(present):
        assert got == text


def test_no_units_gives_the_text_back():
    u = TextUnits("  ", np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert rebuild(u, np.zeros(0, bool), "[MASK]") == "  "


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.sampled_from(list("ab c.\n é,")), min_size=0, max_size=30), min_size=1,
                      max_size=4),
       baselines=st.lists(st.sampled_from(["", "[MASK]", "x"]), min_size=1, max_size=3),
       lead=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_rebuild_rows_gives_each_row_as_rebuild_does(texts, baselines, lead, seed):
    """The engine's rebuild of all rows of a call at once (records of different unit counts,
    several baseline strings, units after ``lead`` other columns) equals :func:`rebuild` row by row."""
    from clarify_engine.explain.text._mask import rebuild_rows

    units = [_units(t) for t in texts]
    starts = lead + np.cumsum([0] + [len(u) for u in units])[:-1]
    rng = np.random.default_rng(seed)
    n_rows = 12
    record = rng.integers(0, len(units), n_rows)
    base = rng.integers(0, len(baselines), n_rows)
    present = rng.random((n_rows, lead + sum(len(u) for u in units))) < 0.5
    got = rebuild_rows(units, starts, record, base, baselines, present)
    for r in range(n_rows):
        u, lo = units[record[r]], starts[record[r]]
        assert got[r] == rebuild(u, present[r, lo:lo + len(u)], baselines[base[r]])
