"""``<name>.pdf``: the report's HTML rendered by WeasyPrint (A4, a page break between sections).

The page size, margins, page numbers and breaks are in the stylesheet (``templates/style.css``,
``@page`` and ``break-before``), so the PDF is the HTML page, printed.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["write_pdf"]


def write_pdf(html: str, path: str | Path) -> Path:
    """Render ``html`` (self-contained: images are ``data:`` URIs) to the PDF file ``path``."""
    import weasyprint

    # WeasyPrint reports CSS it ignores through its own logger; keep that out of the job log.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    path = Path(path)
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    return path
