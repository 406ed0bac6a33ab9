"""HTML of the report: Jinja2 templates (``templates/``) filled with the sections' variables.

Autoescaping is on, so column names and error messages from the data cannot inject markup;
charts are ``data:`` URIs, so the page loads nothing at view time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

__all__ = ["render_fragment", "render_page"]


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("clarify_engine.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_fragment(template: str, variables: dict[str, Any]) -> str:
    """One section's HTML from its template and variables."""
    return _env().get_template(template).render(**variables)


def render_page(title: str, fragments: Sequence[Any]) -> str:
    """The self-contained page: style, title and every section's HTML."""
    from clarify_engine.report._build import OPENING

    return _env().get_template("report.html.j2").render(title=title, opening=OPENING, sections=fragments)
