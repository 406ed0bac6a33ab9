"""Model files: what ``--model FILE`` and ``serve-model FILE`` load, and how.

Formats, by file name
---------------------
Loading runs no code from the file (recommended):

``.skops``
    :mod:`skops.io` (scikit-learn estimators and pipelines). Types skops does not trust by
    default are refused unless named in ``trusted`` or the environment variable
    ``CLARIFY_SKOPS_TRUSTED`` (comma-separated).
``.json``, ``.ubj``
    xgboost ``save_model`` files.

Loading runs code from the file (pickle; load only files you trust):

``.joblib``, ``.pkl``, ``.pickle``, ``.sav``, ``.jbl``
    joblib or pickle (compressed joblib files too).

SageMaker model artifacts:

``xgboost-model`` (or any name without an extension)
    What SageMaker's built-in XGBoost writes: read by its first bytes, a ``save_model``
    file (JSON or UBJSON) or, from older containers, a pickled booster.
``.tar.gz``, ``.tgz``, ``.tar``
    A ``model.tar.gz`` as training jobs write it: the one model file inside (any of the
    names above; ``code/`` and other files are ignored) is read from memory, nothing is
    extracted to disk.

A bare :class:`xgboost.Booster` (pickled, or from an artifact) becomes an
``XGBClassifier`` when its objective is a classification one (``binary:*``, ``multi:*``),
else an ``XGBRegressor``, so that it answers like any estimator.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from clarify_engine.errors import ModelError

__all__ = ["MODEL_FILE_HELP", "TRUSTED_ENV", "load_model"]

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".sav", ".jbl")
XGB_SUFFIXES = (".json", ".ubj")
SKOPS_SUFFIXES = (".skops",)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
#: The file SageMaker's built-in XGBoost algorithm writes into model.tar.gz.
XGB_BUILTIN_NAME = "xgboost-model"
#: Environment variable naming extra types a ``.skops`` file may hold (comma-separated).
TRUSTED_ENV = "CLARIFY_SKOPS_TRUSTED"
#: One-paragraph summary for ``--help`` texts.
MODEL_FILE_HELP = (
    "model file: .skops, or an xgboost .json/.ubj file (loading runs no code: recommended); "
    ".joblib/.pkl/.pickle (pickle: loading RUNS CODE from the file, load only files you trust); "
    "a SageMaker model.tar.gz or xgboost-model"
)

_PICKLE_MAGIC = b"\x80"  # pickle protocol 2 and later start with PROTO


def _kind(name: str) -> str | None:
    """``pickle``, ``xgboost``, ``skops``, ``archive``, ``sniff`` or None from a file name."""
    lower = name.lower()
    if lower.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    suffix = PurePosixPath(lower).suffix
    if suffix in PICKLE_SUFFIXES:
        return "pickle"
    if suffix in XGB_SUFFIXES:
        return "xgboost"
    if suffix in SKOPS_SUFFIXES:
        return "skops"
    if lower == XGB_BUILTIN_NAME or not suffix:
        return "sniff"
    return None


def _expected() -> str:
    return ", ".join(SKOPS_SUFFIXES + XGB_SUFFIXES + PICKLE_SUFFIXES + ARCHIVE_SUFFIXES) + f" or {XGB_BUILTIN_NAME}"


def load_model(path: str | Path, *, trusted: Sequence[str] | None = None) -> Any:
    """Load a model file (see the module notes for the formats).

    Parameters
    ----------
    path : str or path-like
        The model file; its name decides the format.
    trusted : sequence of str, optional
        Types a ``.skops`` file may hold beyond those skops trusts by default (e.g.
        ``"xgboost.sklearn.XGBClassifier"``). Default: the comma-separated list in the
        environment variable ``CLARIFY_SKOPS_TRUSTED``, if set.

    Returns
    -------
    object
        The estimator.

    Raises
    ------
    ModelError
        The file is missing, its format is unknown, it cannot be read, or (``.skops``) it
        holds types that are not trusted.

    Notes
    -----
    Unpickling (joblib, pickle, a pickled ``xgboost-model``) runs code from the file: load
    only models you trust, and prefer ``.skops`` or xgboost ``.json``/``.ubj``.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} does not exist or is not a file")
    kind = _kind(path.name)
    if kind is None:
        raise ModelError(
            f"model file {str(path)!r}: unknown extension {path.suffix.lower()!r}; expected one of {_expected()}"
        )
    if trusted is None:
        trusted = [t.strip() for t in os.environ.get(TRUSTED_ENV, "").split(",") if t.strip()]
    if kind == "archive":
        name, data = _archive_member(path)
        return _load(f"{path}!{name}", _kind(PurePosixPath(name).name), data, trusted)
    return _load(str(path), kind, path, trusted)


def _load(where: str, kind: str | None, src: Path | bytes, trusted: Sequence[str]) -> Any:
    """Load ``src`` (a file, or the bytes of an archive member) of the given kind."""
    if kind == "sniff":
        if isinstance(src, Path):
            src = src.read_bytes()  # xgboost guesses formats by extension: hand it the bytes
        kind = "pickle" if src[:1] == _PICKLE_MAGIC else "xgboost"
    if kind == "skops":
        return _load_skops(where, src, trusted)
    if kind == "xgboost":
        return _load_xgboost(where, src)
    return _as_estimator(where, _load_pickle(where, src))


# -- archives ---------------------------------------------------------------------------------
def _archive_member(path: Path) -> tuple[str, bytes]:
    """Name and bytes of the one model file in a tar archive (read in memory, not extracted)."""
    try:
        with tarfile.open(path, "r:*") as tar:
            files = [m for m in tar.getmembers() if m.isfile()]
            candidates = [m for m in files if _is_model_member(m.name)]
            if len(candidates) != 1:
                names = [m.name for m in files][:20]
                if not candidates:
                    raise ModelError(
                        f"model archive {str(path)!r} holds no model file (found {names}); expected one "
                        f"file named {XGB_BUILTIN_NAME} or ending in "
                        f"{', '.join(SKOPS_SUFFIXES + XGB_SUFFIXES + PICKLE_SUFFIXES)}"
                    )
                raise ModelError(
                    f"model archive {str(path)!r} holds several model files {[m.name for m in candidates]}; "
                    "repack it with the one model to load"
                )
            member = candidates[0]
            fh = tar.extractfile(member)
            return member.name, fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        reason = " ".join(str(exc).split())
        raise ModelError(
            f"model archive {str(path)!r} could not be read: {type(exc).__name__}: {reason}; "
            "expected a tar file, gzip-compressed or not (a SageMaker model.tar.gz)"
        ) from exc


def _is_model_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    base = parts[-1] if parts else ""
    if base.startswith(".") or "code" in parts[:-1]:
        return False  # hidden files (e.g. macOS ._ twins) and inference code of framework models
    kind = _kind(base)
    return kind in ("pickle", "xgboost", "skops") or base == XGB_BUILTIN_NAME


# -- loaders ------------------------------------------------------------------------------------
def _load_pickle(where: str, src: Path | bytes) -> Any:
    log.info("Loading %s with joblib/pickle: this runs code from the file (prefer .skops or xgboost .json/.ubj)", where)
    try:
        import joblib

        return joblib.load(src if isinstance(src, Path) else io.BytesIO(src))
    except Exception as exc:
        raise ModelError(f"model file {where!r} could not be loaded: {type(exc).__name__}: {exc}") from exc


def _load_skops(where: str, src: Path | bytes, trusted: Sequence[str]) -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise ModelError(
            f"model file {where!r} is a skops file but the skops package is not installed; install it "
            "(pip install 'clarify-engine[skops]')"
        ) from exc
    try:
        untrusted = sio.get_untrusted_types(file=src) if isinstance(src, Path) else sio.get_untrusted_types(data=src)
    except Exception as exc:
        raise ModelError(f"skops model file {where!r} could not be read: {type(exc).__name__}: {exc}") from exc
    refused = [t for t in untrusted if t not in trusted]
    if refused:
        raise ModelError(
            f"skops model file {where!r} holds types skops does not trust by default: {refused}; if you "
            f"trust them, name them in the environment variable {TRUSTED_ENV} (comma-separated) or with "
            "serve-model --trust-type (for an xgboost model, save_model to .json or .ubj instead)"
        )
    try:
        return sio.load(src, trusted=list(untrusted)) if isinstance(src, Path) else sio.loads(src, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(f"skops model file {where!r} could not be loaded: {type(exc).__name__}: {exc}") from exc


def _xgboost(where: str) -> Any:
    try:
        import xgboost
    except ImportError as exc:
        raise ModelError(
            f"model file {where!r} is an xgboost model file but the xgboost package is not "
            "installed; install it (pip install xgboost) or save the model with skops"
        ) from exc
    return xgboost


def _load_xgboost(where: str, src: Path | bytes) -> Any:
    xgboost = _xgboost(where)
    raw = str(src) if isinstance(src, Path) else bytearray(src)
    try:
        booster = xgboost.Booster()
        booster.load_model(raw)
        return _from_booster(xgboost, booster)
    except Exception as exc:
        raise ModelError(
            f"xgboost model file {where!r} could not be loaded: {type(exc).__name__}: {_reason(exc)} (files in "
            "xgboost's old binary format may need the older xgboost that wrote them: load the model there and "
            "save_model it as .json)"
        ) from exc


def _reason(exc: Exception) -> str:
    """An error's message on one line, without xgboost's native stack trace and source location."""
    text = str(exc).split("Stack trace:", 1)[0].strip()
    text = re.sub(r"^\[[\d:]+\] \S+: ", "", text)
    return " ".join(text.split())


def _from_booster(xgboost: Any, booster: Any) -> Any:
    """The scikit-learn wrapper around a booster, chosen by its objective."""
    objective = str(json.loads(booster.save_config())["learner"]["objective"]["name"])
    cls = xgboost.XGBClassifier if objective.startswith(("binary:", "multi:")) else xgboost.XGBRegressor
    model = cls()
    model.load_model(booster.save_raw("ubj"))
    return model


def _as_estimator(where: str, obj: Any) -> Any:
    """A bare xgboost Booster (pickled) becomes its scikit-learn wrapper; anything else is kept."""
    if type(obj).__name__ == "Booster" and type(obj).__module__.startswith("xgboost"):
        xgboost = _xgboost(where)
        try:
            return _from_booster(xgboost, obj)
        except Exception as exc:
            raise ModelError(f"xgboost booster in {where!r} could not be used: {type(exc).__name__}: {_reason(exc)}") from exc
    return obj
