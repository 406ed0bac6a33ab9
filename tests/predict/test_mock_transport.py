"""MockTransport: the model client tested offline, end to end from a config; ClientOptions reach the Batcher."""

from __future__ import annotations

import numpy as np
import pytest

from clarify_engine.errors import ConfigError, ModelError
from clarify_engine.predict import (
    Batcher,
    ClientOptions,
    MockRequest,
    MockTransport,
    ModelSpec,
    RetryPolicy,
    TransportError,
    make_predictor,
)
from clarify_engine.predict._check import ArgumentTypeError, positive_int, positive_seconds

SPEC = ModelSpec(content_type="text/csv", accept_type="application/jsonlines", probability="score")


def _sum_model(body: bytes, content_type: str, accept: str) -> str:
    """score = a + b for each CSV record, as JSON Lines."""
    rows = [line.split(",") for line in body.decode().split("\n")]
    return "\n".join('{"score": %r}' % (float(a) + float(b)) for a, b in rows)


def test_make_predictor_sends_through_a_mock_transport_with_the_specs_formats():
    transport = MockTransport(_sum_model)
    rows = np.array([[1, 2], [3, 4], [5, 6]])
    with make_predictor(SPEC, ["a", "b"], transport, ClientOptions(max_records=2, concurrency=1)) as predictor:
        scores = predictor.predict(rows).scores
        assert predictor.description == "transport MockTransport('_sum_model')"
        assert predictor.batcher.stats.requests_sent == 2
    np.testing.assert_array_equal(scores[:, 0], [3.0, 7.0, 11.0])
    assert transport.requests == [MockRequest(b"1,2\n3,4", "text/csv", "application/jsonlines"),
                                  MockRequest(b"5,6", "text/csv", "application/jsonlines")]
    assert transport.calls == 2 and transport.max_in_flight == 1 and transport.in_flight == 0


def test_client_options_reach_the_batcher_retry_progress_and_chunks():
    failures = iter([TransportError("busy", status=503, code="ServiceUnavailable")] * 2)

    def flaky(body, content_type, accept):
        error = next(failures, None)
        if error is not None:
            raise error
        return _sum_model(body, content_type, accept)

    seen = []
    retry = RetryPolicy(max_attempts=3, base=0.001, cap=0.001)
    options = ClientOptions(retry=retry, on_progress=lambda done, total: seen.append((done, total)),
                            progress_interval=0.5, chunk_rows=2, max_records=2, concurrency=1)
    with make_predictor(SPEC, ["a", "b"], MockTransport(flaky), options) as predictor:
        batcher = predictor.batcher
        assert (batcher.retry, batcher.progress_interval, batcher.chunk_rows) == (retry, 0.5, 2)
        scores = predictor.predict(np.arange(8.0).reshape(4, 2)).scores
        assert batcher.stats.retries == 2
    np.testing.assert_array_equal(scores[:, 0], [1.0, 5.0, 9.0, 13.0])
    assert seen[-1] == (4, 4) and 1 <= len(seen) <= 2  # after requests complete (one call may see both)


def test_a_retry_budget_of_one_attempt_fails_at_the_first_transient_fault():
    def busy(body, content_type, accept):
        raise TransportError("busy", status=503, code="ServiceUnavailable")

    transport = MockTransport(busy)
    options = ClientOptions(retry=RetryPolicy(max_attempts=1, throttle_attempts=1))
    with make_predictor(SPEC, ["a", "b"], transport, options) as predictor:
        with pytest.raises(ModelError, match=r"^The model failed on row 0 \(1 attempt\): HTTP 503 ServiceUnavailable: busy$"):
            predictor.predict(np.array([[1, 2]]))
    assert transport.calls == 1


def test_a_413_from_the_handler_splits_the_request():
    def small(body, content_type, accept):
        if body.count(b"\n") >= 2:
            raise TransportError("too large", status=413)
        return _sum_model(body, content_type, accept)

    transport = MockTransport(small)
    batcher = Batcher(transport, *_codecs(), max_records=8, sleep=lambda s: None)
    scores = batcher.predict(np.arange(16.0).reshape(8, 2)).scores
    np.testing.assert_array_equal(scores[:, 0], np.arange(16.0).reshape(8, 2).sum(axis=1))
    assert (batcher.stats.splits, transport.calls) == (3, batcher.stats.requests_sent)  # 8 -> 4 -> 2 records


def _codecs():
    from clarify_engine.predict import request_codec, response_codec

    return request_codec("text/csv", feature_names=["a", "b"]), response_codec("application/jsonlines",
                                                                                probability="score")


def test_a_handler_returning_something_else_than_a_body_is_a_clear_error():
    transport = MockTransport(lambda body, content_type, accept: [0.5])
    with pytest.raises(TransportError) as info:
        transport.send(b"1", content_type="text/csv", accept="text/csv")
    assert str(info.value) == ("MockTransport: the handler returned list; expected the reply body as bytes or str "
                               "(raise TransportError to fail the request)")
    with pytest.raises(TypeError) as info:
        MockTransport("not a function")
    assert str(info.value) == ("MockTransport.handler: expected a callable (body, content_type, accept) -> reply, "
                               "found 'not a function'")


# -- one template for argument errors ---------------------------------------------------------
@pytest.mark.parametrize("call, kind, message", [
    (lambda: positive_int("Batcher", "concurrency", 0), ConfigError, "Batcher.concurrency: expected an int >= 1, found 0"),
    (lambda: positive_int("Batcher", "concurrency", True), ArgumentTypeError,
     "Batcher.concurrency: expected an int >= 1, found True"),
    (lambda: positive_int("X", "n", 2, minimum=3, hint=" (--n)"), ConfigError, "X.n: expected an int >= 3 (--n), found 2"),
    (lambda: positive_seconds("X", "t", float("nan")), ConfigError, "X.t: expected seconds > 0, found nan"),
    (lambda: positive_seconds("X", "t", -1, zero=True), ConfigError, "X.t: expected seconds >= 0, found -1"),
    (lambda: positive_seconds("X", "t", "5"), ArgumentTypeError, "X.t: expected seconds > 0, found '5'"),
    (lambda: RetryPolicy(max_attempts=0), ConfigError,
     "RetryPolicy.max_attempts: expected an int >= 1, found 0"),
    (lambda: Batcher(MockTransport(_sum_model), *_codecs(), chunk_rows=0), ConfigError,
     "Batcher.chunk_rows: expected an int >= 1, found 0"),
])
def test_argument_errors_share_one_template(call, kind, message):
    with pytest.raises(kind) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, TypeError if kind is ArgumentTypeError else ValueError)


def test_cli_retry_budget_flags(tmp_path, capsys):
    from clarify_engine.cli import main

    config = tmp_path / "analysis_config.json"
    config.write_text('{"dataset_type": "text/csv"}')
    args = ["analyze", "--config", str(config), "--output", str(tmp_path / "out"), "--model", "http://127.0.0.1:9"]
    assert main([*args, "--max-attempts", "0"]) == 1
    assert "clarify-engine analyze: error: RetryPolicy.max_attempts: expected an int >= 1, found 0" in capsys.readouterr().err
    assert main([*args, "--throttle-attempts", "0"]) == 1
    assert "RetryPolicy.throttle_attempts: expected an int >= 1, found 0" in capsys.readouterr().err


def test_the_documented_example_runs_and_prints_what_it_says(capsys):
    """docs/models.md, "Testing offline": the example's code block, run as it is."""
    from tests.helpers import REPO

    text = (REPO / "docs" / "models.md").read_text()
    section = text[text.index("## Testing offline: `MockTransport`"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", section.index("```python\n") + 10)]
    exec(compile(code, "docs/models.md", "exec"), {})
    assert capsys.readouterr().out == "[ 3.  7. 11.]\n2 b'1,2\\n3,4'\n"


@pytest.mark.parametrize("value, number, with_booleans", [
    (1, True, True), (2.5, True, True), (" 3e2 ", True, True), (np.float32(1), True, True), ("nan", True, True),
    (True, False, True), ("yes", False, False), (None, False, False), ([1], False, False), ({"a": 1}, False, False),
])
def test_one_is_a_number_predicate(value, number, with_booleans):
    from clarify_engine.predict import is_number

    assert is_number(value) is number
    assert is_number(value, booleans=True) is with_booleans


def test_analyze_runs_a_whole_job_against_a_mock_transport():
    import pandas as pd

    import clarify_engine

    frame = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "a": [0, 0, 1, 1, 0, 1], "b": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    config = {"dataset_type": "text/csv", "label": "y", "headers": ["y", "a", "b"], "label_values_or_threshold": [1],
              "facet": [{"name_or_index": "a", "value_or_threshold": [1]}],
              "methods": {"post_training_bias": {"methods": ["DPPL"]}},
              "predictor": {"content_type": "text/csv", "accept_type": "text/csv"}, "column_typing": "intent"}

    def above_three(body, content_type, accept):  # score 0.9 when b > 3, else 0.1
        return "\n".join("0.9" if float(line.split(",")[1]) > 3 else "0.1" for line in body.decode().splitlines())

    transport = MockTransport(above_three)
    result = clarify_engine.analyze(config, data=frame, model=transport)
    dppl = result.analysis["post_training_bias_metrics"]["facets"]["a"][0]["metrics"]
    # predicted positives: b > 3 -> rows 3, 4, 5; facet a=1 rows 2, 3, 5 -> 2/3, others 1/3
    assert dppl == [{"name": "DPPL", "description": dppl[0]["description"], "value": 1 / 3 - 2 / 3}]
    assert transport.calls == 1 and transport.requests[0].content_type == "text/csv"
