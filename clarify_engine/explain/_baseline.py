"""Baselines for Kernel SHAP: given in the config, read from a file, or computed by clustering.

Also the numeric coding the Kernel SHAP core works on (:func:`encode_features`): the core
sees only float64 arrays, so non-numeric columns become codes into one category table
shared by the records and the baseline, and a decoder turns synthetic rows back into a
frame with the original dtypes before the model sees them.

Notes
-----
Clarify (contract §2.2, §6.1): the baseline is inline rows or a file in the dataset's
format holding model-input features only; absent, it is computed by K-means for numeric
data and K-prototypes when categorical data exists, ``num_clusters`` rows, or an
"optimal" count between 1 and 12 when ``num_clusters`` is absent. The rules we chose
where Clarify says nothing are in ``docs/explainability.md``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from clarify_engine._column_types import baseline_is_categorical
from clarify_engine._numbers import is_number
from clarify_engine.errors import ConfigError, DataError
from clarify_engine.explain._spec import BaselineSpec

__all__ = [
    "FeatureCoder",
    "given_baseline",
    "choose_num_clusters",
    "cluster_baseline",
    "encode_features",
]

log = logging.getLogger(__name__)

_PATH = "methods.shap.baseline"
CSV, JSONLINES, JSON, PARQUET = "text/csv", "application/jsonlines", "application/json", "application/x-parquet"

#: Largest number of clusters tried when ``num_clusters`` is absent (Clarify: 1 to 12).
MAX_AUTO_CLUSTERS = 12
#: Rows the k choice fits its trial clusterings on, and rows it scores silhouettes on.
CHOICE_FIT_ROWS = 10_000
CHOICE_SCORE_ROWS = 2_000
#: Below this best mean silhouette the data shows "no substantial structure" (Kaufman &
#: Rousseeuw 1990, ch. 2) and one cluster is used.
MIN_SILHOUETTE = 0.25
#: Rows the final clustering is fitted on; every row is then assigned to count weights.
FIT_ROWS = 100_000


# --------------------------------------------------------------------------- coding


@dataclass(frozen=True)
class _Column:
    name: str
    dtype: Any
    categories: np.ndarray | None  # object array, missing value last; None for numeric columns
    integer: bool = False


class FeatureCoder:
    """Codes feature frames as float64 arrays and decodes synthetic rows back to frames.

    Numeric columns are their values as float64 (NaN for missing). Every other column
    (str, object, category, bool) is a code into its category table: the distinct values
    of all frames the coder was built from, in order of first appearance, with one extra
    code for a missing value, so a missing value equals itself after coding.

    Build it with :func:`encode_features`. Calling the coder decodes rows.
    """

    def __init__(self, columns: list[_Column]):
        self._columns = columns
        self._lookups = [
            None if c.categories is None else pd.Index(c.categories[:-1], dtype=object) for c in columns
        ]

    @property
    def columns(self) -> list[str]:
        """Feature names, in coding order."""
        return [c.name for c in self._columns]

    @property
    def categorical(self) -> np.ndarray:
        """Boolean mask (P,): which columns are category codes."""
        return np.array([c.categories is not None for c in self._columns], dtype=bool)

    def encode(self, frame: pd.DataFrame, what: str = "frame") -> np.ndarray:
        """Code ``frame`` (same columns) as float64 of shape (n, P).

        Raises
        ------
        DataError
            A column is missing, or holds a value the category table does not know.
        """
        missing = [c.name for c in self._columns if c.name not in frame.columns]
        if missing:
            raise DataError(f"{what}: feature columns {missing} are missing; columns are {list(frame.columns)}")
        out = np.empty((len(frame), len(self._columns)), dtype=np.float64)
        for j, (column, lookup) in enumerate(zip(self._columns, self._lookups)):
            series = frame[column.name]
            if lookup is None:
                try:
                    out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"{what}: column {column.name!r} must be numeric like the dataset's "
                                    f"({column.dtype}); found {series.dtype} values ({exc})") from exc
                continue
            values = series.to_numpy(dtype=object)
            isna = pd.isna(series).to_numpy()
            codes = lookup.get_indexer(values)  # -1: missing or not in the table
            unknown = np.flatnonzero((codes < 0) & ~isna)
            if len(unknown):
                i = int(unknown[0])
                raise DataError(f"{what} row {i}: column {column.name!r} has value {values[i]!r}, "
                                f"which is not in its category table of {len(lookup)} values")
            out[:, j] = np.where(isna, len(lookup), codes)
        return out

    def decode(self, rows: np.ndarray) -> pd.DataFrame:
        """Turn coded rows (r, P) back into a frame with the original column dtypes."""
        rows = np.asarray(rows, dtype=np.float64)
        data = {}
        for j, column in enumerate(self._columns):
            values = rows[:, j]
            if column.categories is None:
                if isinstance(column.dtype, pd.api.extensions.ExtensionDtype):  # Int64, Float64: NaN -> NA
                    data[column.name] = pd.array(values, dtype=column.dtype)
                elif column.integer and not np.isnan(values).any():
                    data[column.name] = values.astype(column.dtype)
                else:
                    data[column.name] = values
                continue
            taken = np.take(column.categories, values.astype(np.intp))
            if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column.dtype) \
                    and column.dtype != object:
                data[column.name] = pd.array(taken, dtype=column.dtype)
            elif pd.api.types.is_bool_dtype(column.dtype) and not pd.isna(taken).any():
                data[column.name] = taken.astype(bool)
            else:
                data[column.name] = taken
        return pd.DataFrame(data, columns=self.columns)

    __call__ = decode


def encode_features(frame: pd.DataFrame, *others: pd.DataFrame) -> tuple[np.ndarray, FeatureCoder]:
    """Code ``frame`` for the Kernel SHAP core, with a category table shared with ``others``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Shape (n, P): the records, feature columns only, in model order.
    *others : pandas.DataFrame
        Frames with the same columns (the baseline) whose values join the category tables,
        so identical values get identical codes; code them with ``coder.encode(other)``.

    Returns
    -------
    X : numpy.ndarray of float64, shape (n, P)
    coder : FeatureCoder
        ``coder(rows)`` decodes rows of codes into a frame with ``frame``'s dtypes.
    """
    columns = []
    for name in frame.columns:
        parts = [frame[name]] + [o[name] for o in others if name in o.columns]
        dtype = frame[name].dtype
        if not baseline_is_categorical(frame[name]):
            integer = pd.api.types.is_integer_dtype(dtype)
            columns.append(_Column(name, dtype, None, integer=integer))
            continue
        joined = np.concatenate([p.to_numpy(dtype=object) for p in parts])
        joined = joined[~pd.isna(joined)]
        uniques = pd.unique(joined) if len(joined) else np.array([], dtype=object)
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:-1] = uniques
        table[-1] = None
        columns.append(_Column(name, dtype, table))
    coder = FeatureCoder(columns)
    return coder.encode(frame, "dataset"), coder


# --------------------------------------------------------------------------- given baselines


def _typed_baseline(rows: list, features: Sequence[str], dataset_frame: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of values -> frame, each column cast towards the dataset column's dtype."""
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)):
            raise ConfigError(f"{_PATH}[{i}]", f"expected a list of {len(features)} feature values, found {row!r}")
        if len(row) != len(features):
            raise ConfigError(
                f"{_PATH}[{i}]",
                f"expected {len(features)} values, one per model-input feature ({list(features)}); "
                f"found {len(row)}: {list(row)!r}")
    data = {}
    for j, name in enumerate(features):
        values = [row[j] for row in rows]
        series = pd.Series(values, dtype=object)
        if dataset_frame is not None and name in dataset_frame.columns:
            series = _cast_like(series, dataset_frame[name], name)
        else:
            series = pd.Series(values)
        data[name] = series
    return pd.DataFrame(data, columns=list(features))


def _cast_like(series: pd.Series, like: pd.Series, name: str) -> pd.Series:
    if baseline_is_categorical(like):
        if pd.api.types.is_bool_dtype(like.dtype):
            return series.infer_objects()
        # The dataset reads these columns as text: compare the baseline's values as text too.
        return series.map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
    bad = [v for v in series if v is not None and not is_number(v)]
    if bad:
        raise ConfigError(_PATH, f"feature {name!r} is numeric in the dataset ({like.dtype}), but the baseline "
                                 f"gives {bad[0]!r}; expected a number or null")
    values = pd.to_numeric(series.map(lambda v: np.nan if v is None else v)).astype(np.float64)
    if pd.api.types.is_integer_dtype(like.dtype) and not values.isna().any() and (values % 1 == 0).all():
        return values.astype(like.dtype)
    return values


def _plain(value: Any) -> Any:
    """The typed config holds lists as tuples: back to JSON's lists and dicts."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _search(expression: str | None, document: Any) -> Any:
    if expression is None:
        return document
    import jmespath

    return jmespath.search(expression, document)


def _inline_rows(baseline: Any, dataset_type: str, features_path: str | None) -> list:
    """Inline baseline -> list of feature-value rows (contract §2.2)."""
    if dataset_type == JSON:
        document = baseline
        rows = _search(features_path, document)
        if isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows):
            return rows
        if isinstance(baseline, list) and all(isinstance(r, list) for r in baseline):
            return baseline
        raise ConfigError(_PATH, f"expected the structure of a JSON dataset document, whose features path "
                                 f"{features_path!r} yields a 2-D list of feature values; found {rows!r}")
    if not isinstance(baseline, list):
        raise ConfigError(_PATH, f"expected a list of rows or a file location, found {type(baseline).__name__}")
    rows = []
    for i, row in enumerate(baseline):
        if isinstance(row, Mapping):
            if dataset_type != JSONLINES:
                raise ConfigError(f"{_PATH}[{i}]", f"expected a list of feature values for a {dataset_type} "
                                                   f"dataset, found a JSON object {row!r}")
            values = _search(features_path, row)
            if not isinstance(values, list):
                raise ConfigError(f"{_PATH}[{i}]", f"features path {features_path!r} yields {values!r} from "
                                                   f"{row!r}; expected a list of feature values")
            rows.append(values)
        else:
            rows.append(row)
    return rows


def _file_baseline(location: str, dataset_type: str, features: Sequence[str], features_path, base_dir,
                   storage_options) -> pd.DataFrame:
    from clarify_engine.data import read_table

    try:
        return read_table(location, dataset_type, list(features), features=features_path, base_dir=base_dir,
                          storage_options=storage_options)
    except (DataError, ConfigError) as exc:
        raise DataError(f"{_PATH}: cannot read the baseline file {location!r} as {dataset_type} with "
                        f"{len(features)} feature columns {list(features)}: {exc}") from exc


def given_baseline(spec: BaselineSpec, features: Sequence[str], frame: pd.DataFrame | None = None, *,
                   base_dir: Any = None, storage_options: dict | None = None) -> pd.DataFrame | None:
    """The baseline the config gives (``methods.shap.baseline``), as a frame of the model-input features.

    Parameters
    ----------
    spec : BaselineSpec
        The given rows or file, the dataset type they are written in and the ``features``
        JMESPath (JSON Lines objects, JSON documents).
    features : sequence of str
        The model-input features, in model order: the baseline's columns.
    frame : pandas.DataFrame, optional
        The dataset: its dtypes type the baseline's columns.
    base_dir : str or path-like, optional
        Folder relative baseline paths are taken from.
    storage_options : dict, optional
        fsspec options for ``s3://`` and other URLs.

    Returns
    -------
    pandas.DataFrame or None
        Shape (K, P), columns ``features``; None when the config gives no baseline
        (compute one with :func:`cluster_baseline`).

    Raises
    ------
    ConfigError
        A row whose width is not the number of features (naming the row), a value of the
        wrong kind for a numeric feature, a JSON object where a list is expected.
    DataError
        A baseline file that cannot be read with the dataset's format.
    """
    features = list(features)
    dataset_type = spec.dataset_type.lower()
    if spec.location is not None:
        loaded = _file_baseline(spec.location, dataset_type, features, spec.features_path, base_dir, storage_options)
        if len(loaded) == 0:
            raise DataError(f"{_PATH}: the baseline file {spec.location!r} has no rows")
        rows = loaded.to_numpy(dtype=object).tolist()
        return _typed_baseline(rows, features, frame)
    baseline = _plain(spec.given)
    if baseline is None:
        return None
    if isinstance(baseline, Mapping) and dataset_type != JSON:
        baseline = [baseline]
    rows = _inline_rows(baseline, dataset_type, spec.features_path)
    if not rows:
        raise ConfigError(_PATH, "expected at least one baseline row, found none")
    return _typed_baseline(rows, features, frame)


# --------------------------------------------------------------------------- computed baselines


def _snap(centres: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Move each centre coordinate to the nearest observed (non-NaN) value of its column."""
    out = centres.copy()
    for j in range(data.shape[1]):
        observed = np.unique(data[:, j][~np.isnan(data[:, j])])
        if len(observed) == 0:
            out[:, j] = np.nan
            continue
        pos = np.clip(np.searchsorted(observed, centres[:, j]), 1, max(len(observed) - 1, 1))
        lo = observed[pos - 1]
        hi = observed[np.minimum(pos, len(observed) - 1)]
        out[:, j] = np.where(np.abs(centres[:, j] - lo) <= np.abs(hi - centres[:, j]), lo, hi)
    return out


def _impute_mean(data: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(data, axis=0)
    means = np.where(np.isnan(means), 0.0, means)
    return np.where(np.isnan(data), means, data)


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


class _Mixed:
    """The k-prototypes space: standardised numeric columns and categorical codes.

    Distance (Huang 1998): squared Euclidean over standardised numeric columns plus
    ``gamma`` times the number of categorical mismatches. With standardised columns
    Huang's suggested gamma (half the mean numeric standard deviation) is 0.5; with no
    numeric column it is 1 (pure k-modes).
    """

    def __init__(self, coded: np.ndarray, categorical: np.ndarray):
        self.cat = categorical
        numeric = _impute_mean(coded[:, ~categorical])
        self.mean = numeric.mean(axis=0) if len(numeric) else np.zeros(numeric.shape[1])
        std = numeric.std(axis=0) if len(numeric) else np.ones(numeric.shape[1])
        self.std = np.where(std > 0, std, 1.0)
        self.num = (numeric - self.mean) / self.std
        self.codes = coded[:, categorical].astype(np.int64)
        self.gamma = 0.5 if self.num.shape[1] else 1.0

    def rows(self, index: np.ndarray) -> "_Mixed":
        """The same space (scaling, gamma) restricted to some rows."""
        out = object.__new__(_Mixed)
        out.__dict__.update(self.__dict__)
        out.num, out.codes = self.num[index], self.codes[index]
        return out

    def distances(self, num_c: np.ndarray, cat_c: np.ndarray, rows=slice(None)) -> np.ndarray:
        """(n, k) distances of rows to the prototypes."""
        num, codes = self.num[rows], self.codes[rows]
        # sum_j (x_j - c_j)^2 = |x|^2 + |c|^2 - 2 x.c (clipped at 0 against rounding)
        d = (num**2).sum(axis=1)[:, None] + (num_c**2).sum(axis=1)[None, :] - 2.0 * (num @ num_c.T)
        np.maximum(d, 0.0, out=d)
        for j in range(codes.shape[1]):
            d += self.gamma * (codes[:, j, None] != cat_c[None, :, j])
        return d


def _modes(codes: np.ndarray, labels: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    out = fallback.copy()
    counts = np.bincount(labels, minlength=k)
    for j in range(codes.shape[1]):
        width = int(codes[:, j].max()) + 1
        table = np.bincount(labels * width + codes[:, j], minlength=k * width).reshape(k, width)
        modes = np.argmax(table, axis=1)  # ties: the smallest code, i.e. the value seen first
        out[:, j] = np.where(counts > 0, modes, out[:, j])
    return out


def _kprototypes(space: _Mixed, k: int, rng: np.random.Generator, n_init: int = 10, max_iter: int = 100):
    """Huang's k-prototypes (Lloyd-style iterations), best of ``n_init`` seeded starts.

    Returns (numeric prototypes (k, p_num) standardised, categorical modes (k, p_cat), labels, cost).
    """
    n = len(space.num)
    best = None
    for _ in range(n_init):
        # k-means++ style seeding with the mixed distance.
        first = rng.integers(n)
        idx = [first]
        d_min = space.distances(space.num[[first]], space.codes[[first]])[:, 0]
        for _c in range(1, k):
            total = d_min.sum()
            nxt = rng.integers(n) if total <= 0 else rng.choice(n, p=d_min / total)
            idx.append(nxt)
            d_min = np.minimum(d_min, space.distances(space.num[[nxt]], space.codes[[nxt]])[:, 0])
        num_c, cat_c = space.num[idx].copy(), space.codes[idx].copy()
        labels, cost = None, np.inf
        for _it in range(max_iter):
            d = space.distances(num_c, cat_c)
            new = np.argmin(d, axis=1)
            new_cost = d[np.arange(n), new].sum()
            # Stop when no row moves, or the cost improves by less than a 1e-4 fraction.
            if labels is not None and (np.array_equal(new, labels) or cost - new_cost <= 1e-4 * cost):
                break
            labels, cost = new, new_cost
            counts = np.bincount(labels, minlength=k)
            for c in np.flatnonzero(counts == 0):  # re-seed an empty cluster at the farthest row
                far = int(np.argmax(d[np.arange(n), labels]))
                labels[far] = c
                counts = np.bincount(labels, minlength=k)
            for j in range(num_c.shape[1]):
                num_c[:, j] = np.bincount(labels, weights=space.num[:, j], minlength=k) / counts
            cat_c = _modes(space.codes, labels, k, cat_c)
        cost = space.distances(num_c, cat_c)[np.arange(n), labels].sum()
        if best is None or cost < best[3]:
            best = (num_c, cat_c, labels, cost)
    return best


def _kmeans(data: np.ndarray, k: int, seed: int, n_init: int = 10):
    from sklearn.cluster import KMeans

    # Callers hold the thread pools at one thread: KMeans' OpenMP threads thrash when cores
    # are shared (10k x 20 rows, k=12: 8 s with threads vs 0.1 s without on a 2-core box).
    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    model.fit(data)
    return model


def _nearest(data: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean) for every row, in chunks."""
    out = np.empty(len(data), dtype=np.intp)
    c2 = (centres**2).sum(axis=1)
    for start in range(0, len(data), 65536):
        block = data[start:start + 65536]
        out[start:start + len(block)] = np.argmin(c2[None, :] - 2.0 * block @ centres.T, axis=1)
    return out


def _distinct_rows(coded: np.ndarray) -> int:
    filled = np.where(np.isnan(coded), np.inf, coded)
    return len(np.unique(filled, axis=0))


def _one_thread(func):
    """Run ``func`` with BLAS/OpenMP pools at one thread (they thrash on shared cores)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


@_one_thread
def choose_num_clusters(coded: np.ndarray, categorical: np.ndarray, seed: int | None = None,
                        max_clusters: int = MAX_AUTO_CLUSTERS) -> int:
    """The number of baseline clusters when ``num_clusters`` is absent.

    Rule: cluster a sample of at most 10,000 rows for each k in 2..12 (k-means on
    mean-imputed values, or k-prototypes with categorical columns; 3 starts each) and
    score each clustering by its mean silhouette on at most 2,000 of those rows
    (Euclidean distance; with categorical columns the square root of the k-prototypes
    distance). The k with the highest score wins (the smallest on ties); when that
    score is below 0.25 ("no substantial structure", Kaufman & Rousseeuw) or the data has
    a single distinct row, k = 1. k never exceeds the number of distinct rows.

    Parameters
    ----------
    coded : numpy.ndarray of float64, shape (n, P)
        The features coded by :func:`encode_features`.
    categorical : numpy.ndarray of bool, shape (P,)
    seed : int, optional
        Seeds the sample and the clusterings (None: 0, so the choice is reproducible).

    Returns
    -------
    int
        In ``1..max_clusters``.
    """
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(0 if seed is None else seed)
    fit_rows = coded[_sample(len(coded), CHOICE_FIT_ROWS, rng)]
    distinct = _distinct_rows(fit_rows)
    upper = min(max_clusters, distinct)
    if upper < 2:
        return 1
    score_idx = _sample(len(fit_rows), CHOICE_SCORE_ROWS, rng)
    if categorical.any():
        space = _Mixed(fit_rows, categorical)
        pair = np.sqrt(space.distances(space.num[score_idx], space.codes[score_idx], rows=score_idx))
        np.fill_diagonal(pair, 0.0)
    else:
        data = _impute_mean(fit_rows)
    scores = {}
    for k in range(2, upper + 1):
        if categorical.any():
            labels = _kprototypes(space, k, np.random.default_rng(rng.integers(2**31)), n_init=3)[2]
            sub = labels[score_idx]
            if len(np.unique(sub)) < 2:
                continue
            scores[k] = silhouette_score(pair, sub, metric="precomputed")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning on near-duplicate rows
                labels = _kmeans(data, k, int(rng.integers(2**31)), n_init=3).labels_
            sub = labels[score_idx]
            if len(np.unique(sub)) < 2 or len(np.unique(sub)) >= len(sub):
                continue
            scores[k] = silhouette_score(data[score_idx], sub)
    if not scores:
        return 1
    best = max(scores, key=lambda k: (scores[k], -k))
    chosen = best if scores[best] >= MIN_SILHOUETTE else 1
    log.info("Baseline cluster count chosen by silhouette: k=%d (scores %s)", chosen,
             {k: round(float(v), 3) for k, v in scores.items()})
    return chosen


@_one_thread
def cluster_baseline(features_frame: pd.DataFrame, num_clusters: int | None = None,
                     seed: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A baseline summarising the dataset: one row per cluster, weighted by cluster size.

    Parameters
    ----------
    features_frame : pandas.DataFrame
        Shape (n, P): the model-input features.
    num_clusters : int, optional
        Rows of the baseline; None chooses 1..12 by :func:`choose_num_clusters`. More
        clusters than distinct rows are reduced to that count (with a log message).
    seed : int, optional
        Seeds the clustering (None: 0, as shap.kmeans uses ``random_state=0``).

    Returns
    -------
    frame : pandas.DataFrame
        Shape (K, P), the dataset's dtypes. Every value is one observed in its column.
    weights : numpy.ndarray of float64, shape (K,)
        Cluster sizes (rows of the dataset assigned to each centre).

    Notes
    -----
    Numeric data: scikit-learn ``KMeans(n_init=10)`` on mean-imputed values, then each
    centre coordinate is moved to the nearest observed value of its column — what
    ``shap.kmeans`` does (``round_values=True``), so a baseline never holds a value the
    model has not seen (e.g. 0.4 of a 0/1 flag). With any non-numeric column: Huang's
    k-prototypes (1998) on standardised numeric columns and category codes; categorical
    coordinates are cluster modes, never means; numeric ones are snapped like k-means'.
    Fits use at most 100,000 sampled rows; weights count every row.
    """
    if len(features_frame) == 0:
        raise DataError("methods.shap: cannot compute a baseline from an empty dataset")
    coded, coder = encode_features(features_frame)
    categorical = coder.categorical
    rs = 0 if seed is None else int(seed)
    k = num_clusters if num_clusters is not None else choose_num_clusters(coded, categorical, rs)
    distinct = _distinct_rows(coded)
    if k > distinct:
        log.info("methods.shap.num_clusters=%d but the dataset has %d distinct rows; using %d clusters",
                 k, distinct, distinct)
        k = distinct
    rng = np.random.default_rng(rs)
    fit_idx = _sample(len(coded), FIT_ROWS, rng)
    if not categorical.any():
        data = _impute_mean(coded)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _kmeans(data[fit_idx], k, rs)
        centres = _snap(model.cluster_centers_, coded)
        labels = _nearest(data, model.cluster_centers_)
    else:
        space = _Mixed(coded, categorical)
        num_c, cat_c, _, _ = _kprototypes(space.rows(fit_idx), k, rng)
        labels = np.argmin(space.distances(num_c, cat_c), axis=1)
        centres = np.empty((k, coded.shape[1]))
        centres[:, ~categorical] = _snap(num_c * space.std + space.mean, coded[:, ~categorical])
        centres[:, categorical] = cat_c
    weights = np.bincount(labels, minlength=k).astype(np.float64)
    keep = weights > 0
    frame = coder.decode(centres[keep])
    return frame, weights[keep]
