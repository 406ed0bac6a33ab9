"""spaCy pipelines of the languages of ``methods.shap.text_config`` (codes resolved by the planner).

Every language Clarify accepts is a spaCy language code; a *blank* spaCy pipeline (rule-based
tokenizer, no trained model, nothing downloaded) plus the rule-based ``sentencizer`` gives the
units. 60 of the 63 codes need nothing beyond spaCy; Japanese, Thai and Vietnamese need a
segmentation package from PyPI (the ``text-languages`` extra) and are refused with a message
naming it when it is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading

from clarify_engine.errors import NotSupportedError

__all__ = ["EXTRA_PACKAGES", "check_language", "pipeline"]

log = logging.getLogger(__name__)

#: spaCy code -> (importable modules, pip packages) its tokenizer needs beyond spaCy.
EXTRA_PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ja": (("sudachipy", "sudachidict_core"), ("sudachipy", "sudachidict-core")),
    "th": (("pythainlp",), ("pythainlp",)),
    "vi": (("pyvi",), ("pyvi",)),
}

_LOCK = threading.Lock()


def _missing_modules(code: str) -> list[str]:
    modules, _ = EXTRA_PACKAGES.get(code, ((), ()))
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, a broken install
            found = False
        if not found:
            missing.append(module)
    return missing


def check_language(code: str) -> None:
    """Refuse a language whose tokenizer needs a package that is not installed.

    Raises
    ------
    NotSupportedError
        Names the language, the pip packages and the extra that installs them.
    """
    if _missing_modules(code):
        _, packages = EXTRA_PACKAGES[code]
        raise NotSupportedError(
            f"methods.shap.text_config.language: the {code!r} tokenizer needs the package(s) "
            f"{', '.join(packages)}, which are not installed; install them with "
            f"pip install {' '.join(packages)} (or pip install 'clarify-engine[text-languages]'). "
            "No model is downloaded: these are dictionary-based segmenters.")


@functools.lru_cache(maxsize=None)
def _build(code: str):
    try:
        import spacy
    except ImportError as exc:
        raise NotSupportedError(
            "methods.shap.text_config: text explanations need spaCy, which is not installed; "
            "install it with pip install 'clarify-engine[text]'") from exc
    log.info("Text units: spaCy %s blank pipeline for %r (rule-based tokenizer and sentencizer, "
             "no model)", spacy.__version__, code)
    try:
        nlp = spacy.blank(code)
    except ImportError as exc:  # spaCy's E048: no such language
        raise NotSupportedError(
            f"methods.shap.text_config.language: spaCy has no language {code!r}; use one of the names or "
            "ISO codes of the Developer Guide (e.g. english / en, multi-language / xx for mixed text)") from exc
    nlp.add_pipe("sentencizer")
    return nlp


def pipeline(code: str):
    """The spaCy blank pipeline (tokenizer + ``sentencizer``) of a language, built once.

    Parameters
    ----------
    code : str
        spaCy language code (the planner resolves Clarify's names: ``job/_plan_text.py``).

    Raises
    ------
    NotSupportedError
        Unknown language; spaCy not installed; Japanese, Thai or Vietnamese without their
        segmentation package.
    """
    check_language(code)
    with _LOCK:
        return _build(code)
