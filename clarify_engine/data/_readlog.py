"""What the readers of one dataset read and what they left out, for the log and the manifest.

No reader drops a row on its own: a row or record that cannot be read, or that would be
misaligned with the others, is a :class:`~clarify_engine.errors.DataError` naming the file
and line (or record). What is not read is listed: entries of a folder that are skipped
(hidden and marker names, links back to a folder already read) and empty files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["ReadLog"]

log = logging.getLogger(__name__)


@dataclass
class ReadLog:
    """Rows read per file and entries skipped, for one dataset (main, facet or predicted label).

    Attributes
    ----------
    what : str
        The dataset, as messages name it ("dataset", "facet dataset", ...).
    files : list of dict
        ``{"file", "rows"}`` per file read, in read order.
    skipped : list of dict
        ``{"file", "reason"}`` per entry not read.
    """

    what: str = "dataset"
    files: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def read(self, file: str, rows: int) -> None:
        """Record that ``rows`` rows were read from ``file``."""
        self.files.append({"file": file, "rows": int(rows)})

    def skip(self, file: str, reason: str) -> None:
        """Record that ``file`` was not read, and why."""
        self.skipped.append({"file": file, "reason": reason})

    @property
    def rows(self) -> int:
        """Rows read from all files."""
        return sum(entry["rows"] for entry in self.files)

    def to_dict(self) -> dict:
        """``{"rows_read", "files_read", "files", "files_skipped"}`` for the run manifest."""
        return {"rows_read": self.rows, "files_read": len(self.files), "files": list(self.files),
                "files_skipped": list(self.skipped)}

    def log_summary(self) -> None:
        """One INFO line: rows and files read, and every skipped entry with its reason."""
        skipped = "; ".join(f"{s['file']} ({s['reason']})" for s in self.skipped)
        log.info("Read %d rows from %d file(s) of the %s%s", self.rows, len(self.files), self.what,
                 f"; skipped: {skipped}" if skipped else "")
