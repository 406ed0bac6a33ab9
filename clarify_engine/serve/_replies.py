"""Reply bodies of ``serve-model``, in the shape of the chosen ``--reply-format``.

Scores follow :class:`clarify_engine.predict.InProcessModel`: the *probability* of a binary
classifier is the positive-class probability; of a multi-class one, the probability of the
predicted label (all class probabilities are in ``probabilities``); of a regressor, its value.

Reply formats
-------------
``default``
    ``text/csv``: one line per record, chosen by the *CSV output* setting (see
    :data:`CSV_OUTPUTS`): ``probability`` (the probability; all class probabilities for a
    multi-class model; the label for a label-only model), ``label``, ``label,probability``
    (the label, then what ``probability`` gives), ``probabilities`` (every class
    probability, both for a binary model).
    ``application/jsonlines``: ``{"predicted_label": l, "probability": p}`` per line, plus
    ``"probabilities": [...]`` for a multi-class model; a regressor gives ``{"score": v}``.
    ``application/json``: ``{"predictions": [{"predicted_label": l, "score": p,
    "probabilities": [...]}, ...]}`` (a regressor gives ``{"score": v}``).
``xgboost`` (SageMaker's built-in XGBoost algorithm)
    ``text/csv``: one line per record, the score: the positive-class probability of a
    binary model, every class probability (comma-separated, as ``multi:softprob`` gives
    them) of a multi-class one, the value of a regressor.
    ``application/jsonlines``: ``{"score": s}`` per line; ``application/json``:
    ``{"predictions": [{"score": s}, ...]}`` (``s`` a list for a multi-class model).
``linear-learner`` (SageMaker's built-in LinearLearner, and Factorization Machines)
    ``application/json``: ``{"predictions": [{"score": p, "predicted_label": l}, ...]}``
    (multi-class: ``score`` is the list of class probabilities; regression:
    ``{"score": v}``); ``application/jsonlines``: the same objects, one per line.
    ``text/csv`` is refused (406): the algorithm answers JSON, JSON Lines and RecordIO only.

Notes
-----
The built-in shapes are those of the algorithms' documentation ("Linear learner response
formats", "Common data formats for inference") and of the open XGBoost container
(``{"predictions": [{"score": ...}]}``, one CSV line per record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import orjson

from clarify_engine.serve._requests import CSV, JSON, JSONL, BadRequest
from clarify_engine.errors import ModelError
from clarify_engine.predict import ModelOutput
from clarify_engine.predict.codecs import csv_cell

__all__ = ["CSV_OUTPUTS", "REPLY_FORMATS", "check_accept", "reply_pieces"]

CSV_OUTPUTS = ("probability", "label", "label,probability", "probabilities")
REPLY_FORMATS = ("default", "xgboost", "linear-learner")


@dataclass(frozen=True)
class _Answer:
    """A model's answer in the server's terms: labels, 'the' probability, all probabilities."""

    labels: list | None
    probability: np.ndarray | None  # (n,) or None
    probabilities: np.ndarray | None  # (n, k) or None (classifiers)
    scores: np.ndarray | None  # (n, k) regression/other scores when not a classifier


def _answer(out: ModelOutput) -> _Answer:
    labels = None if out.labels is None else np.asarray(out.labels).tolist()
    scores = out.scores
    if scores is None:
        return _Answer(labels, None, None, None)
    if labels is None:
        return _Answer(None, scores[:, 0] if scores.shape[1] == 1 else None, None, scores)
    if scores.shape[1] == 1:
        p = scores[:, 0]
        return _Answer(labels, p, np.column_stack([1.0 - p, p]), None)
    return _Answer(labels, scores.max(axis=1), scores, None)


def check_accept(accept: str, reply_format: str) -> None:
    """Refuse (406) an accept type the imitated algorithm does not answer."""
    if reply_format == "linear-learner" and accept == CSV:
        raise BadRequest(
            "Accept 'text/csv' is not answered by reply format linear-learner (LinearLearner replies in "
            "application/json or application/jsonlines); ask for one of those, or serve with "
            "--reply-format xgboost or default for text/csv",
            status=406,
        )


# -- CSV --------------------------------------------------------------------------------------------
def _csv_column(values: list) -> list[str]:
    """Cells of one column as text: floats in shortest round-trip form, text quoted if needed."""
    if all(type(v) is float for v in values):
        return list(map(repr, values))
    if all(type(v) in (int, bool) for v in values):
        return list(map(str, values))
    return [csv_cell(repr(v) if isinstance(v, float) else str(v), always=False) for v in values]


def _csv_lines(columns: list[list]) -> bytes:
    cells = [_csv_column(col) for col in columns]
    lines = cells[0] if len(cells) == 1 else map(",".join, zip(*cells))
    return ("\n".join(lines) + "\n").encode()


def _default_csv(ans: _Answer, output: str) -> bytes:
    if ans.probabilities is not None:
        multi = ans.probabilities.shape[1] > 2
        probs = ans.probabilities.T.tolist() if multi or output == "probabilities" else [ans.probability.tolist()]
    elif ans.scores is not None:
        probs = ans.scores.T.tolist()
    else:
        probs = None
    if output == "label" or probs is None:
        if ans.labels is None:
            raise ModelError("the model gives no labels; ask for csv output 'probability'")
        return _csv_lines([ans.labels])
    if output == "label,probability" and ans.labels is not None:
        return _csv_lines([ans.labels, *probs])
    return _csv_lines(probs)


# -- records ------------------------------------------------------------------------------------
def _default_records(ans: _Answer, score_key: str) -> list[dict]:
    if ans.probabilities is not None:
        p = ans.probability.tolist()
        if ans.probabilities.shape[1] > 2 or score_key == "score":
            allp = ans.probabilities.tolist()
            return [{"predicted_label": l, score_key: s, "probabilities": a} for l, s, a in zip(ans.labels, p, allp)]
        return [{"predicted_label": l, score_key: s} for l, s in zip(ans.labels, p)]
    if ans.scores is not None:
        values = ans.scores[:, 0].tolist() if ans.scores.shape[1] == 1 else ans.scores.tolist()
        return [{"score": v} for v in values]
    return [{"predicted_label": l} for l in ans.labels]


def _builtin_scores(ans: _Answer, reply_format: str) -> list:
    """One score per record as the built-in algorithms give it: a number, or a list (multi-class)."""
    if ans.probabilities is not None:
        if ans.probabilities.shape[1] > 2:
            return ans.probabilities.tolist()
        return ans.probability.tolist()
    if ans.scores is not None:
        return ans.scores[:, 0].tolist() if ans.scores.shape[1] == 1 else ans.scores.tolist()
    raise ModelError(
        f"the model gives labels only, no scores; reply format {reply_format} sends scores: serve a model "
        "with predict_proba, or use --reply-format default"
    )


def _records(ans: _Answer, reply_format: str, accept: str) -> list[dict]:
    if reply_format == "default":
        return _default_records(ans, "probability" if accept == JSONL else "score")
    if reply_format == "xgboost":
        return [{"score": s} for s in _builtin_scores(ans, reply_format)]
    if ans.probabilities is None and ans.scores is None:  # linear-learner, label-only model
        return [{"predicted_label": l} for l in ans.labels]
    scores = _builtin_scores(ans, reply_format)
    if ans.labels is None:
        return [{"score": s} for s in scores]
    return [{"score": s, "predicted_label": l} for s, l in zip(scores, ans.labels)]


def _dumps(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


# -- whole replies --------------------------------------------------------------------------------
def _chunk(out: ModelOutput, accept: str, csv_output: str, reply_format: str) -> bytes:
    ans = _answer(out)
    if accept == CSV:
        if reply_format == "default":
            return _default_csv(ans, csv_output)
        scores = _builtin_scores(ans, reply_format)
        return _csv_lines(list(map(list, zip(*scores))) if scores and isinstance(scores[0], list) else [scores])
    records = _records(ans, reply_format, accept)
    if accept == JSONL:
        return b"".join(_dumps(r) + b"\n" for r in records)
    return _dumps(records)[1:-1]  # the items of the list, without its brackets


def reply_pieces(outputs: Iterable[ModelOutput], accept: str, csv_output: str = "probability",
                 reply_format: str = "default") -> list[bytes]:
    """The reply body, as pieces to send one after the other (never joined into one copy).

    Parameters
    ----------
    outputs : iterable of ModelOutput
        The model's answers to the request's chunks, in order (consumed lazily, so a chunk's
        answer is formatted before the next chunk is predicted).
    accept : str
        One of ``text/csv``, ``application/jsonlines``, ``application/json``.
    csv_output : str
        One of :data:`CSV_OUTPUTS` (``default`` reply format only).
    reply_format : str
        One of :data:`REPLY_FORMATS`.

    Raises
    ------
    ModelError
        The model's answer cannot be given in this format (e.g. labels only, scores asked).
    """
    pieces = [_chunk(out, accept, csv_output, reply_format) for out in outputs]
    if accept != JSON:
        return pieces
    items = [p for p in pieces if p]
    body: list[bytes] = [b'{"predictions":[']
    for i, piece in enumerate(items):
        if i:
            body.append(b",")
        body.append(piece)
    body.append(b"]}")
    return body
