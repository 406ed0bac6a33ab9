"""``text/csv`` requests (contract §5.2): one line per record, values joined by ``,``, records
joined by ``\\n`` (number and text rules: :mod:`clarify_engine.predict.codecs._format`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from clarify_engine.predict.codecs._format import CSV, format_rows_bytes, format_rows_packed

__all__ = ["CSVRequestCodec"]


class CSVRequestCodec:
    """Encodes records as CSV lines.

    Parameters
    ----------
    feature_names : sequence of str
        The features each record carries, in the order the model expects (used to check the
        width of each record; CSV requests carry no header).

    Notes
    -----
    ``len(join(pieces)) == sum(map(len, pieces)) + overhead() + len(separator) * (len(pieces) - 1)``.
    """

    content_type = "text/csv"
    max_records = None
    #: Bytes :meth:`join` puts between two records.
    separator = b"\n"

    def __init__(self, feature_names: Sequence[str]):
        self.feature_names = tuple(feature_names)
        # A record of one missing value is written "" rather than as an empty line, which CSV
        # readers (pandas among them) skip, losing the record. Only a one-feature record can
        # be empty.
        self._empty = b'""' if len(self.feature_names) == 1 else b""

    def __repr__(self) -> str:
        return f"CSVRequestCodec(feature_names={list(self.feature_names)!r})"

    def encode_records(self, rows) -> list[bytes]:
        """Each record as one CSV line (no line break), UTF-8; a lone missing value as ``""``."""
        lines = format_rows_bytes(rows, len(self.feature_names), CSV)
        if self._empty:
            return [line or self._empty for line in lines]
        return lines

    def join(self, pieces: Sequence[bytes]) -> bytes:
        """The request body: the lines joined by ``\\n``."""
        return self.separator.join(pieces)

    def encode_packed(self, rows) -> tuple[bytes, np.ndarray] | None:
        """Numeric records as lines end to end, each followed by ``\\n``, and where each starts.

        The same bytes as :meth:`encode_records` without a Python object per record; None
        when the rows are not all numbers (see :func:`~._format.format_rows_packed`).
        """
        return format_rows_packed(rows, len(self.feature_names), CSV, separator=self.separator, empty=self._empty)

    def wrap(self, records: bytes) -> bytes:
        """The body for records already joined by the separator: CSV adds nothing."""
        return records

    def overhead(self) -> int:
        """A CSV body adds nothing but the separators (see the class Notes)."""
        return 0
