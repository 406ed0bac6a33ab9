"""A bounded, evenly spread sample of the local SHAP values (``explanations_shap/out.csv``).

The report never reads every row: at the end of a job it takes every k-th row of the
in-memory table, and from a finished job's files it parses only every k-th line of
``out.csv``, so a million-row job costs the same page size as a thousand-row one.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from clarify_engine.errors import DataError

log = logging.getLogger(__name__)

__all__ = ["MAX_LOCAL_ROWS", "sample_frame", "sample_csv"]

#: Rows of local SHAP values the report draws (beeswarm plots) at most.
MAX_LOCAL_ROWS = 1000


def _stride(n_rows: int, max_rows: int) -> int:
    return max(1, math.ceil(n_rows / max_rows))


def sample_frame(local: pd.DataFrame, max_rows: int = MAX_LOCAL_ROWS) -> pd.DataFrame:
    """Every k-th row of ``local`` (k = ceil(rows / max_rows)), at most ``max_rows`` rows."""
    step = _stride(len(local), max_rows)
    return local.iloc[::step].head(max_rows).reset_index(drop=True)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def sample_csv(path: str | Path, n_rows: int | None = None, max_rows: int = MAX_LOCAL_ROWS) -> pd.DataFrame:
    """Every k-th data row of the local-values CSV ``path`` (header kept), at most ``max_rows``.

    Parameters
    ----------
    path : str or path-like
        ``explanations_shap/out.csv``.
    n_rows : int, optional
        Data rows in the file when known (the run manifest's ``kernel_shap.records``);
        counted from the file otherwise.
    max_rows : int

    Raises
    ------
    DataError
        The file cannot be parsed as CSV.
    """
    path = Path(path)
    if n_rows is None:
        n_rows = max(0, _count_lines(path) - 1)
    step = _stride(n_rows, max_rows)
    try:
        frame = pd.read_csv(path, skiprows=lambda i: i > 0 and (i - 1) % step != 0)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: the local SHAP values cannot be read as CSV ({exc}); "
                        "re-run the job or remove the file to render the report without them") from None
    log.info("Report: %d of about %d rows of local SHAP values sampled from %s", len(frame), n_rows, path)
    return frame.head(max_rows)
