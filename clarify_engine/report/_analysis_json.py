"""Serialise results the way Clarify's consumers read them.

``analysis.json`` holds only Clarify's own keys (contract §4.1). What this engine adds
(which methods ran, which did not and why, timings, versions) goes to a separate
``run_manifest.json`` so Clarify's file keeps its exact shape.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from clarify_engine._io import atomic_write

ANALYSIS_JSON = "analysis.json"
MANIFEST_JSON = "run_manifest.json"


def _check_finite(obj: Any, path: str = "$") -> None:
    """Refuse NaN/inf floats: Clarify writes infinities as strings, and NaN is not JSON."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"{path}: non-finite number {obj!r} cannot be written to {ANALYSIS_JSON}")
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            _check_finite(value, f"{path}.{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_finite(value, f"{path}[{i}]")


def dumps_analysis(analysis: Mapping[str, Any]) -> str:
    """Return ``analysis`` as JSON text: floats as JSON numbers, two-space indent, no NaN."""
    _check_finite(analysis)
    return json.dumps(analysis, indent=2, allow_nan=False) + "\n"


def write_outputs(output_dir: str | os.PathLike, analysis: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[Path]:
    """Write ``analysis.json`` and ``run_manifest.json`` into ``output_dir`` (created if needed).

    Each file is written to a fresh temporary name and renamed (:func:`clarify_engine._io.atomic_write`),
    so a reader never sees half a file.
    Returns the paths written.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    analysis_path = out / ANALYSIS_JSON
    manifest_path = out / MANIFEST_JSON
    atomic_write(analysis_path, dumps_analysis(analysis))
    atomic_write(manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")
    return [analysis_path, manifest_path]
