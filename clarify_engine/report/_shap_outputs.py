"""Files of ``explanations_shap/``: local SHAP values, their standard errors, the baseline.

Layout (see ``docs/explainability.md``):

- ``out.csv``: a header row, then one row per record in input order. The join-key column
  first when ``joinsource_name_or_index`` is configured, then ``<feature>_<label>`` columns,
  every feature of the first label before those of the next (``Age_label0, Income_label0,
  Age_label1, ...``). Public notebooks read it with ``pandas.read_csv`` and strip the
  ``_label0`` suffix to get feature names.
- ``out_standard_errors.csv`` (extension): same layout, the standard error of each value.
- ``baseline.csv``: the baseline used, a header row of feature names then one row per
  baseline row, feature columns only, so it can be given back as ``methods.shap.baseline``
  of a CSV job. Cluster weights are in ``run_manifest.json`` (``kernel_shap.baseline.weights``).

Floats are written with Python's shortest round-trip representation, so the same values
give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clarify_engine._io import atomic_write

__all__ = ["BASELINE_CSV", "LOCAL_CSV", "SHAP_DIR", "STANDARD_ERRORS_CSV", "StreamedLocalValues", "write_shap_outputs"]

SHAP_DIR = "explanations_shap"
LOCAL_CSV = "out.csv"
STANDARD_ERRORS_CSV = "out_standard_errors.csv"
BASELINE_CSV = "baseline.csv"


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, frame.to_csv(index=False, lineterminator="\n"))


def write_shap_outputs(output_dir, local: pd.DataFrame | None = None, standard_errors: pd.DataFrame | None = None,
                       baseline: pd.DataFrame | None = None) -> list[Path]:
    """Write the ``explanations_shap/`` files that are given into ``output_dir``.

    Parameters
    ----------
    output_dir : str or path-like
        The job's output folder; ``explanations_shap/`` is created in it.
    local : pandas.DataFrame, optional
        Local SHAP values as :func:`clarify_engine.explain.run_shap` returns them
        (None when ``save_local_shap_values`` is false).
    standard_errors : pandas.DataFrame, optional
        Same layout as ``local``.
    baseline : pandas.DataFrame, optional
        The baseline used, feature columns in model order.

    Returns
    -------
    list of pathlib.Path
        The files written (each written to a temporary name, then renamed).
    """
    folder = Path(output_dir) / SHAP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if local is not None:
        written.append(_write_csv(local, folder / LOCAL_CSV))
    if standard_errors is not None:
        written.append(_write_csv(standard_errors, folder / STANDARD_ERRORS_CSV))
    if baseline is not None:
        written.append(_write_csv(baseline, folder / BASELINE_CSV))
    return written


class StreamedLocalValues:
    """``out.csv`` and ``out_standard_errors.csv`` written shard by shard (the streamed SHAP job).

    Each shard's rows are appended, in row order, to a temporary file next to its target
    (a random name created with ``O_EXCL``); :meth:`commit` renames both into place, so a
    reader sees the complete files or none, as with :func:`~clarify_engine._io.atomic_write`.
    The bytes are those :func:`write_shap_outputs` writes for the same values: the header
    row once, then each row as ``DataFrame.to_csv`` writes it.

    Parameters
    ----------
    output_dir : str or path-like
        The job's output folder; ``explanations_shap/`` is created in it.
    """

    def __init__(self, output_dir):
        import tempfile

        self.folder = Path(output_dir) / SHAP_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files = {}
        for name in (LOCAL_CSV, STANDARD_ERRORS_CSV):
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
            self._files[name] = (open(fd, "w", encoding="utf-8", newline=""), Path(tmp))
        self.rows = 0

    def append(self, values, standard_errors, features, labels, record_ids) -> None:
        """Append one shard: local values and standard errors (r, M, D), the shard's join keys."""
        from clarify_engine.report._explanations import local_frame

        for name, array in ((LOCAL_CSV, values), (STANDARD_ERRORS_CSV, standard_errors)):
            frame = local_frame(array, features, labels, record_ids)
            self._files[name][0].write(frame.to_csv(index=False, header=self.rows == 0, lineterminator="\n"))
        self.rows += values.shape[0]

    def commit(self) -> list[Path]:
        """Flush, fsync and rename the files into place; the paths written."""
        import os

        written = []
        for name, (handle, tmp) in self._files.items():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(tmp, self.folder / name)
            written.append(self.folder / name)
        self._files = {}
        return written

    def abort(self) -> None:
        """Close and remove the temporary files (a failed or stopped stage leaves nothing)."""
        import contextlib

        for handle, tmp in self._files.values():
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._files = {}
