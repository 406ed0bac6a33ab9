"""Property tests: load_config on arbitrary JSON returns or raises ConfigError, never another
exception; whatever it accepts round-trips exactly."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clarify_engine.config import load_config
from clarify_engine.errors import ConfigError
from tests.config._cases import BIAS, FIXTURE_FILES, SHAP, TS

KEYS = st.sampled_from([
    "dataset_type", "label", "headers", "facet", "methods", "shap", "name_or_index", "baseline",
    "num_clusters", "predictor", "endpoint_name", "model_name", "pdp", "features", "text_config",
]) | st.text(max_size=8)

SCALARS = (
    st.none() | st.booleans() | st.integers(-5, 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["all", "text/csv", "application/json", "CI", "mean_abs", "$features", "s3://b/k"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)

BASES = [json.loads(p.read_text()) for p in FIXTURE_FILES] + [BIAS, SHAP, TS]


def _check(doc):
    before = copy.deepcopy(doc)
    try:
        cfg = load_config(doc)
    except ConfigError as exc:
        assert isinstance(exc.path, str) and exc.message
        return
    assert doc == before
    assert cfg.to_dict() == before
    assert json.dumps(cfg.to_dict()) == json.dumps(before)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json(doc):
    _check(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_text(doc):
    try:
        text = json.dumps(doc)
    except ValueError:
        return
    if text.lstrip().startswith(("{", "[")):
        try:
            load_config(text)
        except ConfigError:
            pass


@st.composite
def mutated_fixture(draw):
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        # walk to a random container
        node = doc
        while True:
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            containers = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
            if not containers or draw(st.booleans()):
                break
            _, node = draw(st.sampled_from(containers))
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if isinstance(node, dict):
            if op == "add" or not node:
                node[draw(KEYS)] = draw(JSON)
            else:
                key = draw(st.sampled_from(sorted(node)))
                if op == "delete":
                    del node[key]
                else:
                    node[key] = draw(JSON)
        elif node:
            i = draw(st.integers(0, len(node) - 1))
            if op == "delete":
                del node[i]
            else:
                node[i] = draw(JSON)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixture())
def test_mutated_fixtures(doc):
    _check(doc)
