"""Spark's part-file layout of the local SHAP values, for consumers that expect it.

Clarify's multi-instance (Spark) jobs write ``explanations_shap/out.csv`` as a folder of
``part-<p:05d>-<uuid>-c000.csv`` files, each with its own header row, plus an empty
``_SUCCESS``; readers list the ``.csv`` keys and concatenate them. With
:data:`PART_FILES_ENV` = ``1`` the container turns the single ``out.csv`` it wrote into that
layout: the rows, bytes unchanged, split into contiguous parts in row order.

Notes
-----
The folder is assembled under a temporary name beside ``out.csv`` (every part written with
:func:`~clarify_engine._io.atomic_write`), then the single file is removed and the folder
renamed into its place, so a reader finds either the single file or the whole folder. The
layout is Spark's default writer's (``FileOutputCommitter``); the Clarify notebook
``fairness_and_explainability_spark.ipynb`` reads it this way.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import uuid
from pathlib import Path

from clarify_engine._io import atomic_write

__all__ = ["PART_FILES_ENV", "split_records", "write_part_files"]

log = logging.getLogger(__name__)

#: Set to ``1`` for the part-file layout of ``explanations_shap/out.csv``.
PART_FILES_ENV = "CLARIFY_SHAP_PART_FILES"


def split_records(text: str) -> tuple[str, list[str]]:
    """The header line and the records of CSV ``text``, each with its line ending, bytes unchanged.

    A record ends at a ``\\n`` outside double quotes, so quoted fields holding line breaks
    stay whole.
    """
    records: list[str] = []
    pending = ""
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):
        pending += line
        if pending.count('"') % 2 == 0:
            records.append(pending)
            pending = ""
    if pending:
        records.append(pending)
    if not records:
        return "", []
    return records[0], records[1:]


def write_part_files(out_csv: Path, parts: int) -> Path:
    """Replace the file ``out_csv`` by a folder of ``parts`` part files and ``_SUCCESS``.

    Parameters
    ----------
    out_csv : Path
        The single-file ``out.csv`` (header row, then one row per record).
    parts : int
        How many part files; fewer when there are fewer rows (at least one, which may hold
        only the header). Part ``p`` holds a contiguous block of rows; earlier parts get one
        more row when the rows do not divide evenly.

    Returns
    -------
    Path
        ``out_csv``, now a folder.
    """
    header, rows = split_records(out_csv.read_text(encoding="utf-8"))
    count = max(1, min(parts, len(rows)))
    size, extra = divmod(len(rows), count)
    job = uuid.uuid4()
    staging = out_csv.with_name(f".{out_csv.name}.{secrets.token_hex(8)}.parts")
    staging.mkdir()
    try:
        start = 0
        for p in range(count):
            stop = start + size + (1 if p < extra else 0)
            atomic_write(staging / f"part-{p:05d}-{job}-c000.csv", header + "".join(rows[start:stop]))
            start = stop
        atomic_write(staging / "_SUCCESS", b"")
        out_csv.unlink()
        os.rename(staging, out_csv)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("Wrote %d rows of local SHAP values as %d part files under %s", len(rows), count, out_csv)
    return out_csv
