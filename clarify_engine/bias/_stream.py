"""Bias reports of a :class:`~clarify_engine.data.ChunkedDataset`, with bounded memory.

One pass reduces the label, predicted-label, facet and group columns to their distinct rows
and counts (:mod:`clarify_engine.bias._compress`); the report of that frame with its
weights is the in-memory report. FT needs the feature rows: :class:`StreamedFlip` computes it
exactly with more passes (``docs/scale.md``, "Bias at scale"):

* when the rows taking part fit ``gather_rows``, they are gathered in row order and the
  in-memory :func:`~clarify_engine.bias._flip.FT` runs on them (same value by construction);
* otherwise the sensitive group's rows are the queries, ``query_rows`` at a time, and every
  chunk's other rows are a KD-tree (:func:`~clarify_engine.bias._knn.kneighbors`) whose
  nearest rows merge into each query's list of the ``k + EXTRA`` nearest so far. A vote
  is the majority of the ``k`` nearest; where the k-th and (k+1)-th distances tie, the
  in-memory FT lets scikit-learn's tree pick among the tied rows. The streamed FT takes
  the vote when every choice among the tied rows gives the same majority, and otherwise
  reports FT as not computed (a :class:`MetricError` saying why), never a guess.

Memory: the distinct rows (``Compressed``), one chunk, and for FT ``query_rows`` x
(features x 8 + (k + EXTRA) x 17) bytes. Passes: one for the metrics, and for FT per entry
one to gather the queries plus one per ``query_rows`` queries.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd

from clarify_engine.bias._compress import MAX_DISTINCT_ROWS, Compressor, reducible_cuts
from clarify_engine.bias._flip import FT, FT_NEIGHBORS, FT_SMALL_GROUP, TIE_RTOL, feature_matrix
from clarify_engine.bias._knn import kneighbors
from clarify_engine.bias._metrics import divide
from clarify_engine.bias._report import weighted_report
from clarify_engine.bias._results import BiasReport
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.data._stream import ChunkedDataset
from clarify_engine.errors import DataError, MetricError

__all__ = ["StreamedBias", "StreamedFlip", "stream_reports"]

log = logging.getLogger(__name__)

#: Neighbours kept per query beyond k, to see whole sets of tied neighbours.
EXTRA = 4
#: Sensitive rows queried per pass of the streamed FT.
QUERY_ROWS = 1 << 20


def _role_columns(specs: Sequence[BiasSpec]) -> list[str]:
    columns: list[str] = []
    for spec in specs:
        columns.append(spec.label)
        columns += [f.name for f in spec.facets]
        if spec.group_variable is not None:
            columns.append(spec.group_variable)
        if spec.post_training and spec.predicted_label is not None:
            columns.append(spec.predicted_label)
    return list(dict.fromkeys(columns))


def _require(data: ChunkedDataset, spec: BiasSpec) -> None:
    """The in-memory report's refusals for missing columns, on the schema."""
    if spec.post_training and spec.predicted_label is None:
        raise DataError("post-training bias metrics need a predicted label column; predicted_label is None")
    roles = [(spec.label, "label"), *[(f.name, "facet") for f in spec.facets]]
    if spec.group_variable is not None:
        roles.append((spec.group_variable, "group variable"))
    if spec.post_training:
        roles.append((spec.predicted_label, "predicted label"))
    for column, role in roles:
        if column not in data.columns:
            raise DataError(f"{role} column {column!r} is not in the dataset; columns are {list(data.columns)}")


def stream_reports(data: ChunkedDataset, specs: Sequence[BiasSpec], *, max_rows: int = MAX_DISTINCT_ROWS,
                   gather_rows: int | None = None, query_rows: int = QUERY_ROWS) -> list[BiasReport]:
    """The :class:`BiasReport` of each spec, from one pass over ``data`` (more for FT).

    Parameters
    ----------
    data : ChunkedDataset
        Its chunks hold the role columns and the features FT reads (every other column).
    specs : sequence of BiasSpec
        The stages (pre- and post-training share the pass).
    max_rows : int
        Distinct rows of the role columns kept at most (:class:`~clarify_engine.bias._compress.Compressor`).
    gather_rows : int, optional
        FT gathers the rows taking part in memory up to this many (default: one chunk).
    query_rows : int
        Sensitive rows per pass of the streamed FT.

    Returns
    -------
    list of BiasReport
        Equal to ``bias_report(whole frame, spec)`` for each spec.
    """
    streamed = StreamedBias(data, specs, max_rows=max_rows, gather_rows=gather_rows, query_rows=query_rows)
    return [streamed.report(spec) for spec in specs]


class StreamedBias:
    """The reduced role columns of ``data`` for ``specs`` (one pass, on creation), and each spec's report.

    Parameters are those of :func:`stream_reports`; :meth:`report` may be called for each spec
    separately (a job attempts each stage on its own).
    """

    def __init__(self, data: ChunkedDataset, specs: Sequence[BiasSpec], *, max_rows: int = MAX_DISTINCT_ROWS,
                 gather_rows: int | None = None, query_rows: int = QUERY_ROWS):
        for spec in specs:
            _require(data, spec)
        self.data, self.query_rows = data, query_rows
        self.gather_rows = data.chunk_rows if gather_rows is None else gather_rows
        self.compressor = Compressor(_role_columns(specs), reducible_cuts(specs), max_rows)
        self.chunks = 0
        for chunk in data:
            self.compressor.add(chunk)
            self.chunks += 1
        self.compressed = self.compressor.result()
        log.info("Bias: %d rows in %d chunk(s) reduced to %d distinct rows of the label, facet and group columns",
                 self.compressed.rows, self.chunks, len(self.compressed.frame))

    def report(self, spec: BiasSpec) -> BiasReport:
        """The report of one of the specs given on creation."""
        weights = self.compressed.weights
        flip = StreamedFlip(self.data, self.compressor, weights, spec, self.gather_rows, self.query_rows)
        return weighted_report(self.compressed.frame, spec, weights, flip_rows=flip)


class StreamedFlip:
    """FT of one facet entry from the chunks (module notes); called as ``flip(facet, rows, sensitive, predicted)``."""

    def __init__(self, data: ChunkedDataset, compressor: Compressor, weights: np.ndarray, spec: BiasSpec,
                 gather_rows: int, query_rows: int):
        self.data, self.compressor, self.weights = data, compressor, weights
        self.spec, self.gather_rows, self.query_rows = spec, gather_rows, query_rows

    def __call__(self, facet: str, positions: np.ndarray, sensitive: np.ndarray, predicted: np.ndarray) -> float:
        n = len(self.weights)
        self.taking = np.zeros(n, dtype=bool)
        self.taking[positions] = True
        self.sensitive = np.zeros(n, dtype=bool)
        self.sensitive[positions] = sensitive
        self.predicted = np.zeros(n, dtype=bool)
        self.predicted[positions] = predicted
        n_d = int(self.weights[positions][sensitive].sum())
        n_a = int(self.weights[positions][~sensitive].sum())
        if n_d == 0:
            raise MetricError("Facet set is empty")
        if n_a == 0:
            raise MetricError("Negated Facet set is empty")
        drop = {facet, self.spec.label, self.spec.predicted_label}
        self.features = [c for c in self.data.columns if c not in drop]
        if n_d + n_a <= self.gather_rows:
            return self._gathered()
        return self._streamed(n_d, n_a)

    def _gathered(self) -> float:
        """The rows taking part, gathered in row order, through the in-memory FT."""
        parts, sensitive, predicted = [], [], []
        for chunk in self.data:
            where = self.compressor.positions(chunk)
            taking = self.taking[where]
            parts.append(chunk.loc[taking, self.features])
            sensitive.append(self.sensitive[where][taking])
            predicted.append(self.predicted[where][taking])
        frame = pd.concat(parts, ignore_index=True)
        return FT(lambda: feature_matrix(frame), np.concatenate(sensitive), np.concatenate(predicted))

    def _streamed(self, n_d: int, n_a: int) -> float:
        from sklearn.neighbors import KNeighborsClassifier

        k = FT_NEIGHBORS if n_a > FT_SMALL_GROUP else 1
        width = len(self.features)
        queries, y_model = [], []
        a_bad = d_bad = None  # a non-finite row of each side, for scikit-learn's own message
        for chunk in self.data:
            where = self.compressor.positions(chunk)
            taking = self.taking[where]
            sens = self.sensitive[where] & taking
            x = feature_matrix(chunk.loc[:, self.features])
            finite = np.isfinite(x).all(axis=1)
            if a_bad is None and not finite[taking & ~sens].all():
                a_bad = x[np.flatnonzero(taking & ~sens & ~finite)[:1]]
            if d_bad is None and not finite[sens].all():
                d_bad = x[np.flatnonzero(sens & ~finite)[:1]]
            queries.append(x[sens])
            y_model.append(self.predicted[where][sens])
        knn = KNeighborsClassifier(n_neighbors=1)
        if width == 0:
            knn.fit(np.empty((n_a, 0)), np.zeros(n_a, dtype=bool))  # raises scikit-learn's message
        if a_bad is not None:
            knn.fit(np.repeat(a_bad, 2, axis=0), [False, True])  # raises scikit-learn's message
        if d_bad is not None:
            knn.fit(np.zeros((2, width)), [False, True]).predict(d_bad)  # raises scikit-learn's message
        x_d = np.concatenate(queries)
        y_d = np.concatenate(y_model)
        del queries
        votes = np.empty(n_d, dtype=bool)
        for start in range(0, n_d, self.query_rows):
            stop = min(n_d, start + self.query_rows)
            votes[start:stop] = self._votes(x_d[start:stop], k, n_a)
        flips_pos = int(np.count_nonzero(y_d & ~votes))
        flips_neg = int(np.count_nonzero(~y_d & votes))
        return float(divide(flips_pos - flips_neg, n_d))

    def _votes(self, x_q: np.ndarray, k: int, n_a: int) -> np.ndarray:
        """k-NN votes of ``x_q`` against every advantaged row, read chunk by chunk."""
        keep = min(k + EXTRA, n_a)
        best_d = np.full((len(x_q), keep), np.inf)
        best_y = np.zeros((len(x_q), keep), dtype=bool)
        best_i = np.full((len(x_q), keep), np.iinfo(np.int64).max, dtype=np.int64)
        offset = 0
        for chunk in self.data:
            where = self.compressor.positions(chunk)
            a = self.taking[where] & ~self.sensitive[where]
            if not a.any():
                continue
            x_a = feature_matrix(chunk.loc[a, self.features])
            y_a = self.predicted[where][a]
            m = min(keep, len(x_a))
            dist, idx = kneighbors(x_a, x_q, m)
            all_d = np.concatenate([best_d, dist], axis=1)
            all_y = np.concatenate([best_y, y_a[idx]], axis=1)
            all_i = np.concatenate([best_i, idx + offset], axis=1)
            order = np.lexsort((all_i, all_d), axis=1)[:, :keep]
            best_d = np.take_along_axis(all_d, order, axis=1)
            best_y = np.take_along_axis(all_y, order, axis=1)
            best_i = np.take_along_axis(all_i, order, axis=1)
            offset += len(x_a)
        return _decide(best_d, best_y, k, n_a)


def _decide(dist: np.ndarray, labels: np.ndarray, k: int, n_a: int) -> np.ndarray:
    """Majority of the k nearest; where the k-th and (k+1)-th tie, the majority every choice among
    the tied rows gives (a :class:`MetricError` when choices disagree)."""
    votes = 2 * labels[:, :k].sum(axis=1) > k
    keep = dist.shape[1]
    if keep == k:
        return votes
    gap = dist[:, k] - dist[:, k - 1]
    tied = np.flatnonzero(gap <= TIE_RTOL * np.maximum(dist[:, k], np.finfo(float).tiny))
    undecided = 0
    for row in tied:
        bound = dist[row, k - 1]
        near = np.abs(dist[row] - bound) <= TIE_RTOL * max(bound, np.finfo(float).tiny)
        closer = (dist[row] < bound) & ~near
        if near[-1] and keep < n_a:  # the tied rows may go on beyond the kept list
            undecided += 1
            continue
        slots = k - int(closer.sum())
        base = int(labels[row][closer].sum())
        pos, neg = int(labels[row][near].sum()), int((~labels[row][near]).sum())
        low = 2 * (base + max(0, slots - neg)) > k
        high = 2 * (base + min(pos, slots)) > k
        if low != high:
            undecided += 1
        else:
            votes[row] = low
    if undecided:
        raise MetricError(
            f"FlipTest (streamed): {undecided} sensitive row(s) have equally distant nearest neighbours with "
            "different predicted labels, so the vote depends on which the neighbour index picks; the streamed "
            "FT does not guess. Compute FT with the dataset in memory (no --chunk-rows) to let scikit-learn pick."
        )
    return votes
