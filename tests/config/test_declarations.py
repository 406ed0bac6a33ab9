"""Negative tests generated from the field declarations, and API-surface checks."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import clarify_engine.config as config_pkg
from clarify_engine.config import AnalysisConfig
from clarify_engine.config._reference import render_reference, render_schema_text
from clarify_engine.config._spec import declared_fields
from clarify_engine.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _all_sections(cls, seen=None):
    seen = {} if seen is None else seen
    if cls in seen:
        return seen
    seen[cls] = None

    def walk(alts):
        for t in alts:
            if t.kind == "section":
                _all_sections(t.section, seen)
            for sub in (t.items, t.values):
                if sub:
                    walk(sub)

    for _, decl in declared_fields(cls):
        walk(decl["types"])
    return seen


SECTIONS = list(_all_sections(AnalysisConfig))


# ---- generators independent of the validator: they read the declarations only


def _sample(alts):
    """A value satisfying the first alternative (for required sibling keys)."""
    t = alts[0]
    if t.kind == "string":
        if t.enum:
            return t.enum[0]
        return "x" * max(t.min_length or 1, 1)
    if t.kind == "integer":
        return int(t.minimum if t.minimum is not None else 1)
    if t.kind == "number":
        return t.minimum if t.minimum is not None else 1.0 + (t.exclusive_minimum or 0)
    if t.kind == "boolean":
        return True
    if t.kind == "array":
        return [_sample(t.items)] * max(t.min_items or 1, 1)
    if t.kind == "map":
        return {"k": _sample(t.values)}
    if t.kind == "object":
        return {}
    if t.kind == "section":
        return _minimal(t.section)
    raise AssertionError(t.kind)


def _minimal(cls):
    return {name: _sample(d["types"]) for name, d in declared_fields(cls) if d["required"]}


#: An integer of 310 digits: beyond any 64-bit float (``math.isfinite`` would overflow on it).
HUGE = 10**309

_KIND_OF = {"boolean": True, "string": "wrong-type", "number": 1.5, "object": {"k": 1}, "array": [], "integer": 7}


def _accepts(alts, kind):
    for t in alts:
        if t.kind == kind or (t.kind in ("map", "object", "section") and kind == "object") or (
            t.kind == "number" and kind in ("integer", "number")
        ):
            return True
    return False


def _wrong_types(alts):
    """null, plus one value of the first JSON kind no alternative accepts."""
    out = [None]
    for kind, value in _KIND_OF.items():
        if not _accepts(alts, kind):
            out.append(value)
            break
    return out


def _out_of_range(alts):
    """Values that have an accepted kind but break a declared constraint, with the path suffix."""
    out = []
    kinds = {t.kind for t in alts}
    for t in alts:
        if t.kind == "string":
            if t.enum:
                out.append(("not-an-option", ""))
            if t.pattern:
                bad = next(c for c in ("!!", "a/b", "\x01", "-a") if re.fullmatch(t.pattern, c) is None)
                out.append((bad, ""))
            if t.min_length:
                out.append(("", ""))
            if t.max_length:
                out.append(("a" * (t.max_length + 1), ""))
        if t.kind in ("integer", "number"):
            if t.minimum is not None:
                out.append((t.minimum - 1, ""))
            if t.exclusive_minimum is not None:
                out.append((t.exclusive_minimum, ""))
            if t.maximum is not None:
                out.append((t.maximum + 1, ""))
            # integers no float can hold (309+ digits), and 2^63, must be refused by name
            out += [(HUGE, ""), (-HUGE, "")]
            if t.kind == "integer" and (t.maximum is None or t.maximum < 2**63):
                out.append((2**63, ""))
        if t.kind == "array":
            if t.min_items:
                out.append(([], ""))
            for bad in _wrong_types(t.items):
                out.append(([bad], "[0]"))
    # a float where only integers are allowed
    if "integer" in kinds and "number" not in kinds:
        out.append((2.5, ""))
    return out


FIELD_CASES = [
    (cls, name, decl) for cls in SECTIONS for name, decl in declared_fields(cls)
]


def _id(case):
    cls, name, _ = case
    return f"{cls.__name__}.{name}"


@pytest.mark.parametrize("case", FIELD_CASES, ids=_id)
def test_every_field_rejects_wrong_types(case):
    cls, name, decl = case
    for bad in _wrong_types(decl["types"]):
        data = dict(_minimal(cls), **{name: bad})
        with pytest.raises(ConfigError) as info:
            cls.from_dict(data, "sec")
        assert info.value.path == f"sec.{name}", (bad, str(info.value))
        assert info.value.message.startswith("expected ")
        assert ", found " in info.value.message


@pytest.mark.parametrize("case", FIELD_CASES, ids=_id)
def test_every_field_rejects_out_of_range(case):
    cls, name, decl = case
    for bad, suffix in _out_of_range(decl["types"]):
        data = dict(_minimal(cls), **{name: bad})
        with pytest.raises(ConfigError) as info:
            cls.from_dict(data, "sec")
        assert info.value.path == f"sec.{name}{suffix}", (bad, str(info.value))
        assert "expected " in info.value.message
        if isinstance(bad, int) and abs(bad) == HUGE:
            sign = "a negative integer" if bad < 0 else "an integer"
            assert info.value.message.endswith(f", found {sign} of 310 digits (int)"), info.value.message


def _numeric_types(alts):
    for t in alts:
        if t.kind in ("integer", "number"):
            yield t
        for sub in (t.items, t.values):
            if sub:
                yield from _numeric_types(sub)


def test_every_integer_key_has_an_upper_bound():
    """A bound on every integer key: no value that overflows later (2^63, 10^309) gets through."""
    unbounded = [f"{cls.__name__}.{name}" for cls, name, decl in FIELD_CASES
                 for t in _numeric_types(decl["types"]) if t.kind == "integer" and t.maximum is None]
    assert unbounded == []


def test_grid_resolution_bound_names_key_and_limit():
    with pytest.raises(ConfigError) as info:
        config_pkg.PdpConfig.from_dict({"grid_resolution": 10**6, "features": ["a"]}, "methods.pdp")
    assert str(info.value) == "methods.pdp.grid_resolution: expected an integer in [1, 1000], found 1000000 (int)"


def test_number_beyond_float_range_names_key():
    with pytest.raises(ConfigError) as info:
        config_pkg.FacetConfig.from_dict({"name_or_index": "s", "value_or_threshold": [HUGE]}, "facet[0]")
    assert str(info.value) == ("facet[0].value_or_threshold[0]: expected a number of magnitude at most 1.8e+308 "
                               "(a 64-bit float), found an integer of 310 digits (int)")


@pytest.mark.parametrize("cls", SECTIONS, ids=lambda c: c.__name__)
def test_every_section_rejects_unknown_and_missing_keys(cls):
    with pytest.raises(ConfigError, match=r"^sec\.zzz: unknown key; expected one of "):
        cls.from_dict(dict(_minimal(cls), zzz=1), "sec")
    for name, decl in declared_fields(cls):
        if decl["required"]:
            data = _minimal(cls)
            del data[name]
            with pytest.raises(ConfigError, match=rf"^sec\.{name}: required key is missing$"):
                cls.from_dict(data, "sec")
    with pytest.raises(ConfigError, match=r"^sec: expected a JSON object, found \[\] \(list\)$"):
        cls.from_dict([], "sec")


def test_generated_cases_cover_every_section():
    assert len(SECTIONS) == 19  # AnalysisConfig and the 18 exported sections
    assert len(FIELD_CASES) > 90
    assert sum(bool(_out_of_range(d["types"])) for _, _, d in FIELD_CASES) > 50


@pytest.mark.parametrize("cls", SECTIONS, ids=lambda c: c.__name__)
def test_declared_defaults_have_or_default_accessor(cls):
    """A key with a documented Clarify default has ``<key>_or_default`` returning it when absent."""
    minimal = _minimal(cls)
    for name, decl in declared_fields(cls):
        if decl["default"] is None:
            continue
        accessor = getattr(cls, f"{name}_or_default", None)
        assert accessor is not None, f"{cls.__name__}.{name}_or_default missing"
        if isinstance(accessor, property):
            try:
                obj = cls.from_dict(minimal, "sec")
            except ConfigError:  # section rules need more than the required keys
                continue
            assert getattr(obj, f"{name}_or_default") == decl["default"]


def test_public_names():
    assert sorted(config_pkg.__all__) == sorted(
        ["AnalysisConfig", "load_config", "BIAS_PRETRAINING_METHODS", "BIAS_POSTTRAINING_METHODS",
         "check_model_source", "config_folder", "json_schema"] + [c.__name__ for c in SECTIONS if c is not AnalysisConfig]
    )
    for name in config_pkg.__all__:
        assert getattr(config_pkg, name) is not None
    assert config_pkg.BIAS_PRETRAINING_METHODS == ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
    assert config_pkg.BIAS_POSTTRAINING_METHODS == (
        "AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE")


def test_attribute_names_are_json_keys():
    for cls in SECTIONS:
        params = [p for p in inspect.signature(cls).parameters if not p.startswith("_")]
        assert params == [name for name, _ in declared_fields(cls)]


def test_schema_file_is_up_to_date():
    assert (DOCS / "analysis_config.schema.json").read_text(encoding="utf-8") == render_schema_text(), (
        "regenerate with: python -m clarify_engine.config._reference docs/")


def test_reference_doc_is_up_to_date_and_names_every_key():
    text = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    assert text == render_reference(), "regenerate with: python -m clarify_engine.config._reference docs/"
    for cls in SECTIONS:
        for name, _ in declared_fields(cls):
            assert f"| `{name}` |" in text


def test_schema_is_valid_and_strict():
    import jsonschema
    schema = json.loads(render_schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"dataset_type": "text/csv", "methods": {"shap": {"foo": 1}}})
    assert not validator.is_valid({"dataset_type": "text/csv", "methods": {"shap": {"num_clusters": 0}}})
    assert validator.is_valid({"dataset_type": "Text/CSV", "methods": {"shap": {"agg_method": "MEDIAN"}}})
