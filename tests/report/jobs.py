"""Real jobs for the report tests: the shipped loan data (a slice), the shipped model in process."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

import clarify_engine
from clarify_engine.demo import DEMO_CONFIG, DEMO_DATA, DEMO_MODEL

REPORT = {"name": "report", "title": "Analysis Report"}


def small_data(folder: Path, rows: int = 400) -> Path:
    """The first ``rows`` rows of the demo dataset, as a CSV with a header."""
    path = folder / "loans_small.csv"
    if not path.exists():
        pd.read_csv(DEMO_DATA).head(rows).to_csv(path, index=False)
    return path


def config(methods: dict, **changes) -> dict:
    """The demo config with ``methods`` (plus the SDK's report entry) and top-level ``changes``."""
    cfg = json.loads(DEMO_CONFIG.read_text())
    cfg["methods"] = {"report": dict(REPORT), **copy.deepcopy(methods)}
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return cfg


def run_job(folder: Path, methods: dict, data: Path | None = None, **changes):
    """Run a job into ``folder``; returns the AnalysisResult."""
    folder.mkdir(parents=True, exist_ok=True)
    return clarify_engine.analyze(config(methods, **changes), data=data or small_data(folder.parent),
                                  model=DEMO_MODEL, output_dir=folder)


class Page(HTMLParser):
    """Text, headings, images and table rows of a report page."""

    def __init__(self, html: str):
        super().__init__()
        self.images: list[dict] = []
        self.headings: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.text_parts: list[str] = []
        self._heading = None
        self._row = None
        self._cell = None
        self.feed(html)
        self.text = re.sub(r"\s+", " ", "".join(self.text_parts))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag in ("h1", "h2", "h3", "h4"):
            self._heading = (tag, [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4") and self._heading:
            self.headings.append((self._heading[0], " ".join("".join(self._heading[1]).split())))
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._heading:
            self._heading[1].append(data)
        if self._cell is not None:
            self._cell.append(data)

    def heading_texts(self, level: str) -> list[str]:
        return [text for tag, text in self.headings if tag == level]

    def chart_alts(self) -> list[str]:
        return [img.get("alt", "") for img in self.images]


def page(folder: Path, name: str = "report") -> Page:
    return Page((folder / f"{name}.html").read_text(encoding="utf-8"))
