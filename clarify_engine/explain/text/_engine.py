"""The text SHAP engine: records with text and tabular columns -> typed SHAP values per unit.

How a record becomes a Kernel SHAP problem (``docs/text.md``):

* its features are the tabular columns plus every unit of every text column, so records have
  different feature counts ``M``; records with the same ``M`` are explained together by one
  call of the core (:func:`clarify_engine.explain._kernel_shap.kernel_shap`), whose coalition
  plan is exact when ``2^M - 2 <= num_samples`` (and, with ``num_samples`` absent, when
  ``M <= 11``, the default budget being ``min(2 M + 2048, 2^M - 2)``);
* the core works on numbers: a unit is a column whose record value is ``1`` and whose value in
  baseline row ``k`` is ``-(k + 1)``; a hidden column (not explained, so every synthetic row
  keeps it) holds the record's position. A synthetic row is decoded back into a frame: tabular
  codes by the :class:`~clarify_engine.explain._baseline.FeatureCoder`, each text rebuilt from
  its original string with the absent units replaced by the baseline string (:mod:`._mask`);
* identical synthetic records of one call are scored once (two coalitions can give the same
  text, e.g. dropping either of two equal neighbouring words), and the baseline rows once per job.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import numpy as np
import pandas as pd

from clarify_engine import _warnings
from clarify_engine.errors import DataError, ModelError
from clarify_engine.explain._baseline import encode_features
from clarify_engine.explain._kernel_shap import kernel_shap
from clarify_engine.explain.text._columns import check_text_values, data_type
from clarify_engine.explain.text._languages import pipeline
from clarify_engine.explain.text._mask import rebuild_rows
from clarify_engine.explain.text._result import FeatureExplanation, RecordExplanation, TextShapResult
from clarify_engine.explain.text._spec import TextSpec
from clarify_engine.explain.text._units import TextUnits, split_texts

__all__ = ["explain_text", "record_bytes_bound"]

log = logging.getLogger(__name__)

ScoreFn = Callable[[pd.DataFrame], np.ndarray]


def record_bytes_bound(units: TextUnits, baselines: list[str]) -> int:
    """Most UTF-8 bytes any rebuilt version of a text can have: each unit at its longer of
    itself and the longest baseline string."""
    text_bytes = len(units.text.encode("utf-8"))
    longest = max((len(b.encode("utf-8")) for b in baselines), default=0)
    extra = sum(max(0, longest - len(u.encode("utf-8"))) for u in units.units)
    return text_bytes + extra


def _first_appearance(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``label`` numbered by first appearance: (the row where each first
    appears, ascending; each row's number)."""
    _, first, inverse = np.unique(label, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return first[order], rank[inverse.reshape(-1)]


def _row_labels(tab_codes: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """One integer per synthetic row, numbered by first appearance, equal for rows with equal
    tabular codes (bit for bit) and equal texts (a dict over the texts, or over tuples with the
    codes' bytes; measured faster than ``pd.factorize`` on these object arrays)."""
    if tab_codes.shape[1]:
        keys = list(zip([b.tobytes() for b in tab_codes], *columns))
    elif len(columns) == 1:
        keys = columns[0].tolist()
    else:
        keys = list(zip(*columns))
    slots: dict = {}
    return np.asarray([slots.setdefault(key, len(slots)) for key in keys], dtype=np.int64)


class _Scorer:
    """The ``predict`` of one core call: coded synthetic rows -> frames -> ``score_fn``."""

    def __init__(self, spec, score_fn, coder, tab, units, offsets, base_texts, cache):
        self.spec, self.score_fn, self.coder, self.tab = spec, score_fn, coder, tab
        self.units, self.offsets, self.base_texts, self.cache = units, offsets, base_texts, cache
        self.n_tab = len(tab)
        # record i's units of text column c start at column starts[i, c] of the unit flags
        self.starts = np.asarray(offsets, dtype=np.int64).reshape(len(offsets), len(units) + 1)
        self.rows_sent = 0
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        n_tab, n_rows = self.n_tab, rows.shape[0]
        rid = rows[:, n_tab].astype(np.int64)
        flags = rows[:, n_tab + 1:]
        present = flags > 0
        # the baseline row each synthetic row took its absent units from (flag -(k+1))
        base_row = (-np.minimum(flags.min(axis=1, initial=0.0), -1.0) - 1.0).astype(np.int64)
        tab_codes = np.ascontiguousarray(rows[:, :n_tab])
        if n_rows and rid.max() < 0:  # the baseline rows, which each core call sends first
            cached = [self.cache.get((tab_codes[r].tobytes(), *self.base_texts[-i - 1])) for r, i in enumerate(rid.tolist())]
            if all(score is not None for score in cached):
                self.seconds += time.perf_counter() - started
                return np.vstack(cached)
        columns = self._texts(rid, base_row, present)
        label = _row_labels(tab_codes, columns)
        # rows where no unit is present (the baseline rows, every record's empty coalition, the
        # coalitions of tabular features only) recur across records and calls: kept for the job
        no_unit = np.flatnonzero(~present.any(axis=1)).tolist()
        keys = {r: (tab_codes[r].tobytes(), *(column[r] for column in columns)) for r in no_unit}
        known = {r: self.cache[keys[r]] for r in no_unit if keys[r] in self.cache}
        send = None
        if known:
            send = np.array([r for r in range(n_rows) if r not in known], dtype=np.int64)
            label = label[send]
        # the first row of each distinct synthetic record, in row order, and each row's record
        first, inv = _first_appearance(label)
        if send is not None:
            first = send[first]
        scores = self._score(tab_codes[first], [column[first] for column in columns]) if len(first) else None
        if not known:
            out = scores[inv]
        else:
            d = scores.shape[1] if scores is not None else next(iter(known.values())).shape[0]
            out = np.empty((n_rows, d))
            if send.shape[0]:
                out[send] = scores[inv]
            for r, value in known.items():
                out[r] = value
        for r in no_unit:
            if r not in known:
                self.cache[keys[r]] = out[r]
        self.seconds += time.perf_counter() - started
        return out

    def _texts(self, rid: np.ndarray, base_row: np.ndarray, present: np.ndarray) -> list[np.ndarray]:
        """Each text column of each synthetic row (object arrays), all rows of a call at once."""
        n_rows = rid.shape[0]
        columns = [np.empty(n_rows, dtype=object) for _ in self.units]
        on_base = rid < 0
        of_record = np.flatnonzero(~on_base)
        records, record = np.unique(rid[of_record], return_inverse=True)
        for c, column in enumerate(columns):
            baselines = [row[c] for row in self.base_texts]
            if on_base.any():
                column[on_base] = np.array(baselines, dtype=object)[-rid[on_base] - 1]
            if records.shape[0]:
                column[of_record] = rebuild_rows([self.units[c][i] for i in records.tolist()], self.starts[records, c],
                                                 record.reshape(-1), base_row[of_record], baselines,
                                                 present[of_record])
        return columns

    def _score(self, tab_codes: np.ndarray, texts: list[np.ndarray]) -> np.ndarray:
        n = tab_codes.shape[0]
        frame = self._frame(tab_codes, texts)
        scores = np.asarray(self.score_fn(frame), dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ModelError(f"the model returned scores of shape {scores.shape} for {n} records")
        self.rows_sent += n
        self.calls += 1
        return scores

    def _frame(self, tab_codes: np.ndarray, texts: list[np.ndarray]) -> pd.DataFrame:
        if not self.n_tab:
            # one 2-D object block: pandas then does not look at every string to type the column
            block = np.column_stack([texts[self.spec.text_columns.index(f)] for f in self.spec.features])
            return pd.DataFrame(block, columns=list(self.spec.features), dtype=object, copy=False)
        tab_frame = self.coder.decode(tab_codes)
        data = {}
        for name in self.spec.features:
            if name in self.spec.text_columns:
                data[name] = pd.Series(texts[self.spec.text_columns.index(name)], dtype=object)
            else:
                data[name] = tab_frame[name].reset_index(drop=True)
        return pd.DataFrame(data, columns=list(self.spec.features))


def _split_columns(frame, spec):
    """Per text column: the units of every record, and the records whose text is empty."""
    nlp = pipeline(spec.language)
    units, empty = [], set()
    for column in spec.text_columns:
        texts = check_text_values(frame, column)
        column_units = split_texts(texts, spec.granularity, nlp)
        empty.update(i for i, u in enumerate(column_units) if len(u) == 0)
        units.append(column_units)
    return units, sorted(empty)


def _too_big(spec, frame, tab, units, base_texts):
    """Records whose synthetic rows may exceed ``spec.max_record_bytes``: {row: message}."""
    if spec.max_record_bytes is None:
        return {}
    failed = {}
    tab_bytes = frame[tab].astype(str).map(len).sum(axis=1).to_numpy() + len(tab) if tab else None
    for i in range(len(frame)):
        size = sum(record_bytes_bound(units[c][i], [row[c] for row in base_texts]) for c in range(len(units)))
        size += int(tab_bytes[i]) if tab_bytes is not None else 0
        if size > spec.max_record_bytes:
            failed[i] = (f"row {i}: its text can make a model request of up to {size} bytes, more than the "
                         f"{spec.max_record_bytes}-byte payload limit; the record is not explained (the others "
                         "are). Shorten the text, use a coarser granularity, or raise the payload limit if the "
                         "endpoint accepts more")
    return failed


def explain_text(frame: pd.DataFrame, spec: TextSpec, score_fn: ScoreFn, *,
                 max_rows_per_call: int = 100_000, workers: int = 1) -> TextShapResult:
    """Kernel SHAP values of every unit of every text column, and of every tabular column.

    Parameters
    ----------
    frame : pandas.DataFrame
        The records; must hold ``spec.features``.
    spec : TextSpec
    score_fn : callable
        ``score_fn(frame) -> ndarray (r, D)``: model scores of a frame of ``spec.features``
        (text columns as strings, tabular columns in their dataset dtypes).
    max_rows_per_call : int
        Synthetic records per ``score_fn`` call at most.
    workers : int
        Threads of the Kernel SHAP core (results do not depend on it).

    Returns
    -------
    TextShapResult

    Raises
    ------
    DataError
        A text column holding a value that is not a string; a frame without a feature.
    NotSupportedError
        A language whose tokenizer is not installed.
    """
    missing = [f for f in spec.features if f not in frame.columns]
    if missing:
        raise DataError(f"the dataset has no feature column(s) {missing}; columns are {list(frame.columns)}")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    tab = [f for f in spec.features if f not in spec.text_columns]
    n_tab = len(tab)
    units, empty = _split_columns(frame, spec)
    text_idx = [spec.features.index(c) for c in spec.text_columns]
    base_texts = [["" if pd.isna(row[j]) else str(row[j]) for j in text_idx] for row in spec.baseline]
    base_frame = pd.DataFrame([list(row) for row in spec.baseline], columns=list(spec.features))
    if n_tab:
        base_tab = base_frame[tab].astype({c: frame[c].dtype for c in tab}, errors="ignore")
        X_tab, coder = encode_features(frame[tab], base_tab)
        B_tab = coder.encode(base_tab, "baseline")
    else:
        X_tab, coder, B_tab = np.zeros((n, 0)), None, np.zeros((len(base_frame), 0))
    if empty:
        _warnings.warn(
            "text_empty", f"{len(empty)} record(s) have an empty text (rows {empty[:10]}"
            f"{' ...' if len(empty) > 10 else ''}): their text columns have no unit to explain",
            fix="check the text column of these rows; the records are still explained on their other features",
            where="methods.shap.text_config")
    failed = _too_big(spec, frame, tab, units, base_texts)
    for message in failed.values():
        log.error("Text SHAP: %s", message)

    lengths = np.array([[u.starts.shape[0] for u in column] for column in units], dtype=np.int64).reshape(-1, n).T
    counts = lengths.sum(axis=1)
    # record i's units of text column c are its features offsets[i][c]:offsets[i][c + 1]
    offsets = np.hstack([np.zeros((n, 1), dtype=np.int64), np.cumsum(lengths, axis=1)]).tolist()
    weights = np.asarray(spec.baseline_weights, dtype=np.float64)
    cache: dict = {}
    scorer = _Scorer(spec, score_fn, coder, tab, units, offsets, base_texts, cache)
    k_rows = len(spec.baseline)
    base_ids = -(np.arange(k_rows, dtype=np.float64) + 1.0)
    results: dict[int, tuple] = {}
    expected = None
    groups = {}
    # identical records (every feature value equal) are explained once and the result copied
    same_as, seen = {}, {}
    for i in range(n):
        key = (X_tab[i].tobytes(), *(units[c][i].text for c in range(len(units))))
        same_as[i] = seen.setdefault(key, i)
    todo = [i for i in range(n) if i not in failed and same_as[i] == i]
    for u in sorted(set(counts[todo].tolist())):
        idx = np.array([i for i in todo if counts[i] == u], dtype=np.int64)
        X = np.hstack([X_tab[idx], idx[:, None].astype(np.float64), np.ones((idx.shape[0], u))])
        B = np.hstack([B_tab, base_ids[:, None], np.repeat(base_ids[:, None], u, axis=1)])
        explain = np.concatenate([np.arange(n_tab), n_tab + 1 + np.arange(u)]).astype(np.int64)
        res = kernel_shap(scorer, np.ascontiguousarray(X), np.ascontiguousarray(B), weights=weights,
                          explain=explain, num_samples=spec.num_samples, seed=spec.seed, link=spec.link,
                          max_rows_per_call=max_rows_per_call, workers=workers,
                          regression_adjusted=False)  # docs/text.md, "Budgets": plain Kernel SHAP per record
        expected = res.expected_value if expected is None else expected
        groups[int(n_tab + u)] = {"records": int(idx.shape[0]), "coalitions": int(res.n_coalitions),
                                  "exact": bool(res.exact)}
        for pos, i in enumerate(idx.tolist()):
            results[i] = (res.values[pos], res.standard_errors[pos], res.fx[pos], res.reference[pos], res.exact)
    if expected is None:  # every record failed: the baseline still gives the expected value
        from clarify_engine.explain._kernel_shap import _apply_link
        B = np.hstack([B_tab, base_ids[:, None]])
        expected = _apply_link(weights / weights.sum() @ np.atleast_2d(scorer(B)), spec.link)

    types = tuple((f, "free_text" if f in spec.text_columns else data_type(frame[f])) for f in spec.features)
    d = int(expected.shape[0])
    records = []
    for i in range(n):
        if i in failed:
            records.append(RecordExplanation(row=i, features=(), fx=np.full(d, np.nan), reference=np.full(d, np.nan),
                                             exact=False, n_features=int(n_tab + counts[i]), error=failed[i]))
            continue
        values, ses, fx, ref, exact = results[same_as[i]]
        feats = []
        for name, kind in types:
            if kind == "free_text":
                c = spec.text_columns.index(name)
                lo, hi = n_tab + offsets[i][c], n_tab + offsets[i][c + 1]
                tu = units[c][i]
                feats.append(FeatureExplanation(name, kind, values[lo:hi], ses[lo:hi], tuple(tu.units),
                                                tuple(tu.starts.tolist())))
            else:
                j = tab.index(name)
                feats.append(FeatureExplanation(name, kind, values[j:j + 1], ses[j:j + 1]))
        records.append(RecordExplanation(row=i, features=tuple(feats), fx=fx, reference=ref, exact=exact,
                                         n_features=int(n_tab + counts[i])))
    explained = n - len(failed)
    stats = {
        "records": int(n), "records_explained": int(explained), "records_failed": int(len(failed)),
        "records_exact": int(sum(1 for r in records if r.error is None and r.exact)),
        "records_with_empty_text": int(len(empty)),
        "units": {"min": int(counts.min()) if n else 0, "max": int(counts.max()) if n else 0,
                  "total": int(counts.sum())},
        "problems_by_feature_count": {str(k): v for k, v in sorted(groups.items())},
        "model_rows_sent": int(scorer.rows_sent), "model_calls": int(scorer.calls),
        "model_seconds": round(scorer.seconds, 3),
    }
    log.info("Text SHAP: %d of %d records explained (%d exact), %d to %d units per record; %d distinct synthetic "
             "records sent in %d calls", explained, n, stats["records_exact"], stats["units"]["min"],
             stats["units"]["max"], scorer.rows_sent, scorer.calls)
    return TextShapResult(records=tuple(records), expected_value=np.asarray(expected, dtype=np.float64),
                          data_types=types, stats=stats)
