"""Response codecs: every accept type and knob, multi-class, unicode, and every error message."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict._base import ModelOutput
from clarify_engine.predict.codecs import response_codec


@dataclass(frozen=True)
class Expect:
    input: tuple  # (accept_type, codec kwargs, body, n_records)
    output: tuple  # (labels or None, scores or None)
    id: str


@dataclass(frozen=True)
class ExpectFail:
    input: tuple
    error: type
    message: str
    id: str


C, L, J = "text/csv", "application/jsonlines", "application/json"

CASES = [
    # CSV
    Expect((C, {}, b"0.6\n0.3\n", 2), (None, [[0.6], [0.3]]), "csv one score per line"),
    Expect((C, {}, b"0.6,0.3", 2), (None, [[0.6], [0.3]]), "csv one line, one value per record"),
    Expect((C, {"probability": 0}, b"0.6,0.3\r\n", 2), (None, [[0.6], [0.3]]), "csv single line with index 0"),
    Expect((C, {}, b"0.1,0.6,0.3\n0.5,0.25,0.25", 2), (None, [[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]), "csv multi-class"),
    Expect((C, {}, b"0.1,0.9", 1), (None, [[0.1, 0.9]]), "csv one record two scores"),
    Expect((C, {"label": 0, "probability": 1}, b"1,0.6\n0,0.2", 2), ([1, 0], [[0.6], [0.2]]), "csv label and score"),
    Expect((C, {"label": 0}, b"cat\ndog", 2), (["cat", "dog"], None), "csv text labels"),
    Expect((C, {"label": 0}, b"1\ncat", 2), (["1", "cat"], None), "csv mixed labels stay text"),
    Expect((C, {"label": 0}, b"0.25\n1", 2), ([0.25, 1.0], None), "csv float labels"),
    Expect((C, {"label": 1}, '0.3,"Ünïcode, label"\n0.7,"b"'.encode(), 2), (["Ünïcode, label", "b"], None), "csv quoted unicode label"),
    Expect((C, {"probability": "1"}, b"x, 0.5 \ny,0.25", 2), (None, [[0.5], [0.25]]), "csv index as digit string"),
    Expect((C, {}, "\ufeff0.5".encode(), 1), (None, [[0.5]]), "csv byte-order mark"),
    # JSON Lines
    Expect((L, {"label": "predicted_label", "probability": "probability"},
            b'{"predicted_label":1,"probability":0.7}\n{"predicted_label":0,"probability":0.2}\n', 2),
           ([1, 0], [[0.7], [0.2]]), "jsonlines label and score"),
    Expect((L, {}, b"0.7\n[0.2,0.8]\n".replace(b"0.7", b"[0.3,0.7]"), 2), (None, [[0.3, 0.7], [0.2, 0.8]]), "jsonlines whole line"),
    Expect((L, {}, b"0.7\n\n0.2", 2), (None, [[0.7], [0.2]]), "jsonlines blank lines skipped"),
    Expect((L, {"probability": "scores"}, b'{"scores":[0.1,0.9]}\n{"scores":["0.5","0.5"]}', 2),
           (None, [[0.1, 0.9], [0.5, 0.5]]), "jsonlines numeric strings"),
    Expect((L, {"label": "labels", "probability": "probabilities"},
            b'{"labels":["cat","dog","fish"],"probabilities":[0.35,0.25,0.4]}', 1),
           ([["cat", "dog", "fish"]], [[0.35, 0.25, 0.4]]), "jsonlines candidate labels"),
    Expect((L, {"label": 0, "probability": 1}, b'[1,0.6]\n["\xc3\xa9",0.2]', 2), ([1, "é"], [[0.6], [0.2]]), "jsonlines int index"),
    Expect((L, {"probability": "p"}, b'{"p":NaN}'.replace(b"NaN", b"1e999"), 1), (None, [[np.inf]]), "jsonlines infinity"),
    # JSON
    Expect((J, {"label": "predictions[*].predicted_label", "probability": "predictions[*].score"},
            b'{"predictions":[{"predicted_label":"yes","score":0.7},{"predicted_label":"no","score":0.1}]}', 2),
           (["yes", "no"], [[0.7], [0.1]]), "json projection"),
    Expect((J, {"probability": "predictions[*].probabilities"},
            b'{"predictions":[{"probabilities":[0.1,0.9]},{"probabilities":[0.8,0.2]}]}', 2),
           (None, [[0.1, 0.9], [0.8, 0.2]]), "json list of lists"),
    Expect((J, {"probability": "score"}, b'{"score":0.3}', 1), (None, [[0.3]]), "json single record scalar"),
    Expect((J, {"probability": "scores"}, b'{"scores":[0.2,0.8]}', 1), (None, [[0.2, 0.8]]), "json single record vector"),
    Expect((J, {}, b"[0.2,0.8,0.5]", 3), (None, [[0.2], [0.8], [0.5]]), "json whole document"),
    Expect((J, {}, b"[[0.2,0.8],[0.4,0.6]]", 2), (None, [[0.2, 0.8], [0.4, 0.6]]), "json whole document multi-class"),
    Expect((J, {}, b"0.25", 1), (None, [[0.25]]), "json bare number"),
    Expect((J, {"label": 0, "probability": 1}, b"[[1,0.9],[0,0.3]]", 2), ([1, 0], [[0.9], [0.3]]), "json int index"),
    Expect((J, {"label": "labels"}, b'{"labels":[true,false]}', 2), ([True, False], None), "json boolean labels"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_decode(case):
    accept, kwargs, body, n = case.input
    labels, scores = case.output
    output = response_codec(accept, **kwargs).decode(body, n)
    assert isinstance(output, ModelOutput) and len(output) == n
    if labels is None:
        assert output.labels is None
    else:
        assert output.labels.tolist() == labels
    if scores is None:
        assert output.scores is None
    else:
        assert output.scores.dtype == np.float64
        np.testing.assert_array_equal(output.scores, np.array(scores, dtype=float))


def test_label_dtypes():
    csv = response_codec(C, label=0)
    assert csv.decode(b"1\n0", 2).labels.dtype == np.int64
    assert csv.decode(b"1.5\n0", 2).labels.dtype == np.float64
    assert csv.decode(b"a\nb", 2).labels.dtype == object
    assert response_codec(J, label="l").decode(b'{"l":[1,2]}', 2).labels.dtype == np.int64


LONG = ("{" + ",".join(f'"k{i}":{i}' for i in range(100)) + "}").encode()

ERRORS = [
    ExpectFail((C, {}, b"0.1\n0.2\n0.3", 4), ModelError, r"the model returned 3 records for a request of 4: 0\.1\n0\.2\n0\.3", "csv count"),
    ExpectFail((C, {"label": 1}, b"0.6,0.3", 2), ModelError, "the model returned 1 records for a request of 2", "csv single line needs index 0"),
    ExpectFail((C, {}, b"0.1\nabc", 2), ModelError, r"non-numeric score 'abc' in record 1 \(the whole row, as neither predictor.label nor predictor.probability is set; set predictor.label to the column of the label \(e.g. 0\) if the model answers labels, and predictor.probability to the column of the score\); expected a number or a list of numbers: 0.1\nabc$", "csv non-numeric"),
    ExpectFail((C, {"probability": 1}, b"yes,no\nno,yes", 2), ModelError, r"non-numeric score 'no' in record 0 \(predictor.probability 1\); expected a number or a list of numbers; point predictor.probability at the score the model returns \(and predictor.label at its label, if the text is one\): yes,no", "csv probability column of text"),
    ExpectFail((C, {}, b"0.1\nnan", 2), ModelError, "score NaN in record 1", "csv nan"),
    ExpectFail((C, {}, b"0.1,0.9\n0.2", 2), ModelError, "record 1 has 1 scores but record 0 has 2", "csv ragged"),
    ExpectFail((C, {"probability": 2}, b"1,0.5\n0,0.4", 2), ModelError, r"predictor.probability is column 2 but record 0 of the response has 2 values: 1,0.5", "csv index out of range"),
    ExpectFail((C, {}, b"0.1\n\n0.2", 3), ModelError, "record 1 of the response is an empty line", "csv blank line"),
    ExpectFail((C, {}, b"\xff\xfe0.1", 1), ModelError, r"the text/csv response is not UTF-8 text \(invalid start byte at byte 0\)", "not utf-8"),
    ExpectFail((C, {}, b"", 2), ModelError, "the model returned 0 records for a request of 2", "empty body"),
    ExpectFail((L, {"probability": "score"}, b'{"score":0.1}\n{"p":0.2}', 2), ModelError, r'`score` \(predictor.probability\) found nothing in line 1 of the response: \{"p":0.2\}', "jsonlines nothing"),
    ExpectFail((L, {}, b'{"score":0.1}', 1), ModelError, r"non-numeric score \{\"score\": 0.1\} in record 0 \(the whole line; set predictor.probability", "jsonlines whole line not numeric"),
    ExpectFail((L, {}, b'0.1\n{"oops"', 2), ModelError, r"line 1 of the response is not valid JSON .*: \{\"oops\"", "jsonlines bad json"),
    ExpectFail((L, {"label": "l"}, b'{"l":{"a":1}}', 1), ModelError, r'label \{"a": 1\} in record 0 \(predictor.label \'l\'\) is not a string or a number', "jsonlines object label"),
    ExpectFail((L, {"label": "l"}, b'{"l":["a","b"]}\n{"l":"a"}', 2), ModelError, "record 1 has a single label but record 0 has a list of labels", "jsonlines label shapes"),
    ExpectFail((L, {"label": "l"}, b'{"l":["a","b"]}\n{"l":["a"]}', 2), ModelError, "record 1 lists 1 labels but record 0 lists 2", "jsonlines ragged candidates"),
    ExpectFail((L, {}, b"0.1\n0.2\n0.3", 2), ModelError, "the model returned 3 records for a request of 2", "jsonlines count"),
    ExpectFail((J, {"probability": "predictions[*].score"}, b'{"predictions":[{"p":1}]}', 1), ModelError, r'`predictions\[\*\].score` \(predictor.probability\) found nothing in the response: \{"predictions":\[\{"p":1\}\]\}', "json nothing"),
    ExpectFail((J, {"probability": "predictions[*].score"}, b'{"predictions":[{"score":0.1},{"score":0.2},{"score":0.3}]}', 4), ModelError, r"`predictions\[\*\].score` yielded 3 items for a request of 4 records; expected one per record: \[0.1, 0.2, 0.3\]", "json count"),
    ExpectFail((J, {"probability": "s"}, b'{"s":0.5}', 2), ModelError, "`s` yielded a single float for a request of 2 records", "json scalar for many"),
    ExpectFail((J, {"probability": "s"}, b'{"s":[true,0.5]}', 2), ModelError, "non-numeric score true in record 0", "json boolean score"),
    ExpectFail((J, {}, b"[0.1,null]", 2), ModelError, "non-numeric score null in record 1", "json null score"),
    ExpectFail((L, {"probability": "p"}, b'{"p":[0.1,"high"]}', 1), ModelError, r"non-numeric score 'high' in record 0 \(predictor.probability 'p'\); expected a number or a list of numbers; point predictor.probability at the score the model returns \(and predictor.label at its label, if the text is one\)", "jsonlines text score"),
    ExpectFail((J, {}, b'{"predictions":[0.1,0.2]}', 2), ModelError, r"the response is a JSON object, not one score per record; set predictor.probability .*: \{\"predictions\"", "json dict without path"),
    ExpectFail((J, {}, b"[0.1,0.2,0.3]", 2), ModelError, r"the model returned 3 records for a request of 2: \[0.1,0.2,0.3\]", "json whole document count"),
    ExpectFail((J, {}, b"[0.1,0.2", 2), ModelError, r"the response is not valid JSON .*: \[0.1,0.2", "json truncated"),
    ExpectFail((J, {"probability": "s"}, LONG, 1), ModelError, r"found nothing in the response: \{\"k0\":0.*\.\.\. \(\d+ more characters\)$", "long body truncated"),
    ExpectFail((J, {"probability": "s"}, b'{"s":[[0.1],[0.2,0.3]]}', 2), ModelError, "record 1 has 2 scores but record 0 has 1", "json ragged"),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.id)
def test_decode_errors(case):
    accept, kwargs, body, n = case.input
    codec = response_codec(accept, **kwargs)
    with pytest.raises(case.error, match=case.message) as info:
        codec.decode(body, n)
    assert len(str(info.value)) < 600  # quotes are cut, never the whole reply


CONFIG_ERRORS = [
    ExpectFail(("text/html", {}), ConfigError, r"predictor.accept_type: expected one of \['text/csv', 'application/jsonlines', 'application/json'\], found 'text/html'", "accept type"),
    ExpectFail(("image/png", {}), ConfigError, "predictor.accept_type", "image accept"),
    ExpectFail((C, {"label": "predicted_label"}), ConfigError, r"predictor.label: a text/csv response is read by column index: expected an int >= 0, found 'predicted_label'", "csv jmespath"),
    ExpectFail((C, {"probability": -1}), ConfigError, "predictor.probability: .* found -1", "csv negative"),
    ExpectFail((C, {"probability": True}), ConfigError, "predictor.probability: .* found True", "csv bool"),
    ExpectFail((J, {"label": "predictions[*"}), ConfigError, r"predictor.label: 'predictions\[\*' is not a valid JMESPath expression", "bad jmespath"),
    ExpectFail((L, {"probability": ""}), ConfigError, "predictor.probability: expected a JMESPath expression, found ''", "empty jmespath"),
    ExpectFail((J, {"probability": -2}), ConfigError, "predictor.probability: expected an index >= 0", "negative index"),
]


@pytest.mark.parametrize("case", CONFIG_ERRORS, ids=lambda c: c.id)
def test_response_codec_config_errors(case):
    accept, kwargs = case.input
    with pytest.raises(case.error, match=case.message):
        response_codec(accept, **kwargs)


# -- the one-number-per-line CSV fast path agrees with reading each line with float() ----------

from hypothesis import given, settings, strategies as st  # noqa: E402

from clarify_engine.predict.codecs._csv_response import _single_scores  # noqa: E402

_FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _as_written(value: float, style: str) -> str:
    """A score as a model server might write it."""
    if style == "repr":
        return repr(value)
    if style == "g":
        return f"{value:.17g}"
    if style == "e":
        return f"{value:E}"
    return str(int(value)) if abs(value) < 1e15 else repr(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FINITE, min_size=1, max_size=40), st.sampled_from(["repr", "g", "e", "int"]), st.booleans())
def test_csv_fast_path_reads_what_float_reads(values, style, trailing_newline):
    lines = [_as_written(v, style) for v in values]
    body = ("\n".join(lines) + ("\n" if trailing_newline else "")).encode()
    fast = _single_scores(body, len(lines))
    assert fast is not None
    np.testing.assert_array_equal(fast, np.array([[float(s)] for s in lines]))
    np.testing.assert_array_equal(response_codec(C).decode(body, len(lines)).scores, fast)


@pytest.mark.parametrize(
    "body, n, scores",
    [
        (b"+1\n.5\n2.", 3, [[1.0], [0.5], [2.0]]),  # not JSON numbers: the general path reads them
        (b"inf\n-inf", 2, [[np.inf], [-np.inf]]),
        (b"1e400\n0", 2, [[np.inf], [0.0]]),  # out of double range
        (b"007\n1", 2, [[7.0], [1.0]]),  # a leading zero is not JSON
        (b"0.5\n0.25\n\n", 2, [[0.5], [0.25]]),
    ],
)
def test_csv_forms_off_the_fast_path_still_read(body, n, scores):
    np.testing.assert_array_equal(response_codec(C).decode(body, n).scores, np.array(scores))


@pytest.mark.parametrize("body, n", [(b"1\n\n2", 2), (b"1\n2", 3), (b"1e\n2", 2), (b"1--2\n3", 2), (b"", 1), (b"0.5", 2)])
def test_csv_fast_path_hands_over_what_it_cannot_read(body, n):
    assert _single_scores(body, n) is None
