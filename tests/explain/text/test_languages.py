"""Language names and codes; refusal of a language whose segmenter package is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clarify_engine.errors import NotSupportedError
from clarify_engine.explain.text import pipeline
from clarify_engine.job._plan_text import language_code


def test_names_and_codes_any_case():
    assert language_code("English") == "en" == language_code("EN")
    assert language_code("Norwegian Bokmål") == "nb"
    assert language_code("multi-language") == "xx"


def test_unknown_language_names_the_fix():
    with pytest.raises(NotSupportedError, match=r"'klingon' is not a language Clarify supports.*multi-language / xx"):
        language_code("klingon")
    with pytest.raises(NotSupportedError, match="'ko' is not a language"):
        language_code("ko")  # spaCy has Korean (through mecab-ko); Clarify does not list it


@pytest.mark.parametrize("code, module, packages", [
    ("ja", "sudachipy", "sudachipy, sudachidict-core"),
    ("th", "pythainlp", "pythainlp"),
    ("vi", "pyvi", "pyvi"),
])
def test_missing_segmenter_is_refused_naming_the_package(code, module, packages):
    # A fresh interpreter in which the package cannot be imported (a module set to None in
    # sys.modules is what Python itself uses to block an import).
    script = (
        "import sys\n"
        f"sys.modules[{module!r}] = None\n"
        "from clarify_engine.explain.text import pipeline\n"
        "from clarify_engine.errors import NotSupportedError\n"
        "try:\n"
        f"    pipeline({code!r})\n"
        "except NotSupportedError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"the {code!r} tokenizer needs the package(s) {packages}, which are not installed" in out.stdout
    assert "pip install 'clarify-engine[text-languages]'" in out.stdout


def test_a_code_spacy_does_not_have_is_refused():
    with pytest.raises(NotSupportedError, match="spaCy has no language 'zz'"):
        pipeline("zz")
