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
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from clarify_engine.bias._compress import MAX_DISTINCT_ROWS, Compressor, reducible_cuts
from clarify_engine.bias._flip import FT, FT_NEIGHBORS, FT_SMALL_GROUP, TIE_RTOL, feature_matrix, flip_groups
from clarify_engine.bias._knn import build_tree, merge_best, query_tree
from clarify_engine.bias._metrics import divide
from clarify_engine.bias._report import weighted_report
from clarify_engine.bias._results import BiasReport
from clarify_engine.bias._spec import BiasSpec
from clarify_engine.data._stream import ChunkedDataset
from clarify_engine.errors import DataError, MetricError

__all__ = ["StreamedBias", "StreamedFlip", "merged_report", "stream_reports"]

log = logging.getLogger(__name__)

#: Neighbours kept per query beyond k, to see whole sets of tied neighbours.
EXTRA = 4
#: Sensitive rows queried per pass of the streamed FT.
QUERY_ROWS = 1 << 20
#: Advantaged rows FT holds in memory at most (one KD-tree over them all; more: blocks of this many).
GATHER_ROWS = 1 << 23


def role_columns(specs: Sequence[BiasSpec]) -> list[str]:
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
        self.gather_rows = GATHER_ROWS if gather_rows is None else gather_rows
        self.compressor = Compressor(role_columns(specs), reducible_cuts(specs), max_rows)
        for piece in data.arrow_pieces():  # Arrow pieces when the reader gives them: no pandas frame per chunk
            self.compressor.add_piece(piece)
        self.chunks = data.stats.chunks
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
        gather_a = n_a <= self.gather_rows
        x_a, y_a, x_d, y_d = self._gather(n_a, n_d, gather_a)
        if gather_a:  # every row at hand, in row order: the in-memory FT itself
            return flip_groups(x_a, y_a, x_d, y_d)
        self._refuse_like_scikit_learn(x_d, n_a)
        votes = np.empty(n_d, dtype=bool)
        for start in range(0, n_d, self.query_rows):
            stop = min(n_d, start + self.query_rows)
            votes[start:stop] = self._votes(x_d[start:stop], n_a)
        flips_pos = int(np.count_nonzero(y_d & ~votes))
        flips_neg = int(np.count_nonzero(~y_d & votes))
        return float(divide(flips_pos - flips_neg, n_d))

    def _rows(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per chunk: its feature matrix, which rows are advantaged, which sensitive, their predictions."""
        for chunk in self.data:
            where = self.compressor.positions(chunk)
            taking = self.taking[where]
            sens = self.sensitive[where] & taking
            x = feature_matrix(chunk.loc[:, self.features])
            yield x, taking & ~sens, sens, self.predicted[where]

    def _gather(self, n_a: int, n_d: int, gather_a: bool):
        """One pass: the sensitive rows' features and predictions (and the advantaged rows', when
        ``gather_a``), each in row order; the advantaged ones also note a non-finite row."""
        width = len(self.features)
        x_d, y_d = np.empty((n_d, width)), np.empty(n_d, dtype=bool)
        x_a = np.empty((n_a if gather_a else 0, width))
        y_a = np.empty(n_a if gather_a else 0, dtype=bool)
        self.a_bad = None  # a non-finite advantaged row, for scikit-learn's own message
        at_a = at_d = 0
        for x, adv, sens, predicted in self._rows():
            d = int(np.count_nonzero(sens))
            x_d[at_d:at_d + d], y_d[at_d:at_d + d] = x[sens], predicted[sens]
            at_d += d
            if gather_a:
                a = int(np.count_nonzero(adv))
                x_a[at_a:at_a + a], y_a[at_a:at_a + a] = x[adv], predicted[adv]
                at_a += a
            elif self.a_bad is None and not np.isfinite(x[adv]).all():
                rows = x[adv]
                self.a_bad = rows[~np.isfinite(rows).all(axis=1)][:1]
        return x_a, y_a, x_d, y_d

    def _refuse_like_scikit_learn(self, x_d: np.ndarray, n_a: int) -> None:
        """scikit-learn's messages for no features or non-finite ones, as the in-memory FT gives them."""
        from sklearn.neighbors import KNeighborsClassifier

        width = len(self.features)
        knn = KNeighborsClassifier(n_neighbors=1)
        if width == 0:
            knn.fit(np.empty((n_a, 0)), np.zeros(n_a, dtype=bool))  # raises scikit-learn's message
        if self.a_bad is not None:
            knn.fit(np.repeat(self.a_bad, 2, axis=0), [False, True])  # raises scikit-learn's message
        finite = np.isfinite(x_d).all(axis=1)
        if not finite.all():
            knn.fit(np.zeros((2, width)), [False, True]).predict(x_d[~finite][:1])  # raises scikit-learn's message

    def _blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The advantaged rows in blocks of consecutive chunks, each of at least ``gather_rows``
        rows (but the last) and at most one chunk more."""
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        held = 0
        for x, adv, _, predicted in self._rows():
            if adv.any():
                xs.append(x[adv])
                ys.append(predicted[adv])
                held += len(xs[-1])
            if held and held >= self.gather_rows:
                yield np.concatenate(xs), np.concatenate(ys)
                xs, ys, held = [], [], 0
        if held:
            yield np.concatenate(xs), np.concatenate(ys)

    def _votes(self, x_q: np.ndarray, n_a: int) -> np.ndarray:
        """k-NN votes of ``x_q`` against every advantaged row: one pass, one tree per block."""
        k = FT_NEIGHBORS if n_a > FT_SMALL_GROUP else 1
        keep = min(k + EXTRA, n_a)
        best_d = np.full((len(x_q), keep), np.inf)
        best_y = np.zeros((len(x_q), keep), dtype=bool)
        for x_a, y_a in self._blocks():
            m = min(keep, len(x_a))
            dist, idx = query_tree(x_a, build_tree(x_a), x_q, m)
            best_d, best_y = merge_best(best_d, best_y, dist, y_a[idx])
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


def merged_report(frame: pd.DataFrame, spec: BiasSpec, parts: Sequence[Compressor]) -> BiasReport:
    """:func:`~clarify_engine.bias.bias_report` of ``frame`` from the compressors of its
    contiguous row partitions, in row order (:func:`~clarify_engine.bias._compress.compress_part`,
    counted on the workers of a Dask cluster); FT reads ``frame``'s feature rows.

    The same report as ``bias_report(frame, spec)``: the partitions' distinct rows merged in row
    order are the distinct rows of the whole frame (:meth:`Compressor.merge`).
    """
    merged = Compressor(parts[0].columns, parts[0].cuts, parts[0].max_rows)
    for part in parts:
        merged.merge(part)
    compressed = merged.result()
    return weighted_report(compressed.frame, spec, compressed.weights,
                           flip_rows=_FrameFlip(frame, merged, len(compressed.weights), spec))


class _FrameFlip:
    """FT of one facet entry from the rows of an in-memory frame whose role columns were compressed."""

    def __init__(self, frame: pd.DataFrame, compressor: Compressor, n: int, spec: BiasSpec):
        self.frame, self.compressor, self.n, self.spec = frame, compressor, n, spec

    def __call__(self, facet: str, positions: np.ndarray, sensitive: np.ndarray, predicted: np.ndarray) -> float:
        where = self.compressor.positions(self.frame)
        marks = np.zeros((3, self.n), dtype=bool)
        marks[0, positions], marks[1, positions], marks[2, positions] = True, sensitive, predicted
        taking = marks[0][where]
        drop = {facet, self.spec.label, self.spec.predicted_label}
        features = self.frame.loc[taking, [c for c in self.frame.columns if c not in drop]]
        return FT(lambda: feature_matrix(features), marks[1][where][taking], marks[2][where][taking])
