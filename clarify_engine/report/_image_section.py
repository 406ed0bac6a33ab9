"""The report's image section: per explained image, its heat map(s), what was explained, the
segment count and the segments that moved the score most (``docs/reports.md``).

The heat maps are the JPEG files the job wrote beside ``analysis.json``
(``explanations.image_shap``, :mod:`clarify_engine.report._image_outputs`); the report embeds
them as ``data:`` URIs (the page stays self-contained), shrunk to at most
:data:`MAX_SIDE` pixels on the long side. At most :data:`IMAGES_SHOWN` images are shown, the
first ones in the job's order; the section says how many there were.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from clarify_engine.report._build import Report

__all__ = ["IMAGES_SHOWN", "MAX_SIDE", "TOP_SEGMENTS", "build_images", "has_images", "image_files"]

#: Images shown in the report at most (the first ones).
IMAGES_SHOWN = 50
#: Segments listed per explained class or object, by decreasing absolute SHAP value.
TOP_SEGMENTS = 5
#: Long side of an embedded heat map at most, in pixels.
MAX_SIDE = 480


def _section(analysis: Mapping[str, Any]) -> Mapping[str, Any] | None:
    section = (analysis.get("explanations") or {}).get("image_shap")
    return section if isinstance(section, Mapping) else None


def has_images(report: "Report") -> bool:
    """True when the job explained images (or tried: failed images are listed too)."""
    section = _section(report.analysis)
    return bool(section and (section.get("images") or section.get("failed_images")))


def _files_of(entry: Mapping[str, Any]) -> list[str]:
    names = [t.get("heatmap") for t in (entry.get("classes") or entry.get("objects") or [])]
    names.append(entry.get("objects_image"))
    return [n for n in names if isinstance(n, str) and n]


def image_files(folder: str | Path, analysis: Mapping[str, Any]) -> dict[str, bytes]:
    """The heat maps and objects images of the shown images, read from the job's folder.

    Parameters
    ----------
    folder : path
        The folder holding ``analysis.json`` and the heat maps.
    analysis : dict
        ``analysis.json`` content.

    Returns
    -------
    dict
        File name -> bytes, for the files that exist (a missing one is reported in the
        section, not here). Empty when the job explained no image.
    """
    section = _section(analysis)
    if section is None:
        return {}
    root = Path(folder).resolve()
    out: dict[str, bytes] = {}
    for entry in (section.get("images") or [])[:IMAGES_SHOWN]:
        for name in _files_of(entry):
            path = (root / name).resolve()
            if path.parent == root and path.is_file():  # a name from the file, never a path out of it
                out[name] = path.read_bytes()
    return out


def _data_uri(data: bytes) -> str | None:
    """The JPEG as a ``data:`` URI, shrunk to :data:`MAX_SIDE`; None when it does not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if max(im.size) > MAX_SIDE:
                scale = MAX_SIDE / max(im.size)
                small = im.convert("RGB").resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                                                 Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                small.save(buffer, format="JPEG", quality=90)
                data = buffer.getvalue()
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "not available"


def _top_segments(values: Any) -> list[dict[str, Any]]:
    """The :data:`TOP_SEGMENTS` segments of largest ``|value|``: index, value, share of the total."""
    vals = np.array([np.nan if v is None else float(v) for v in (values or [])], dtype=np.float64)
    if vals.size == 0:
        return []
    magnitude = np.where(np.isfinite(vals), np.abs(vals), -1.0)
    total = float(magnitude[magnitude > 0].sum())
    # Below this a value is rounding of a zero (a segment the score does not read), not an effect.
    tiny = 1e-9 * float(magnitude.max())
    order = np.argsort(-magnitude, kind="stable")[:TOP_SEGMENTS]
    return [{"segment": int(j), "value": f"{vals[j]:+.4g}",
             "direction": "no effect" if magnitude[j] <= tiny else "raises" if vals[j] > 0 else "lowers",
             "share": f"{100 * magnitude[j] / total:.0f}%" if total > 0 else "0%"}
            for j in order if magnitude[j] >= 0]


def _target(item: Mapping[str, Any], files: Mapping[str, bytes], detection: bool) -> dict[str, Any]:
    name = item.get("heatmap")
    data = files.get(name) if isinstance(name, str) else None
    uri = _data_uri(data) if data is not None else None
    label = f"{item.get('label')} (class id {item.get('class_id')})"
    if detection:
        box = item.get("bbox") or []
        what = (f"{item.get('box')}: {label}, score {_num(item.get('score'))}, box "
                + ", ".join(_num(v) for v in box) + " (xmin, ymin, xmax, ymax; fractions of the image)")
    else:
        what = f"Class {label}, score {_num(item.get('score'))} on the unmasked image"
    return {"what": what, "heatmap": name, "uri": uri,
            "fx": _num(item.get("fx")), "expected_value": _num(item.get("expected_value")),
            "top": _top_segments(item.get("segment_shap_values"))}


def build_images(report: "Report") -> dict[str, Any]:
    """Template variables of ``images.html.j2``."""
    section = _section(report.analysis) or {}
    detection = section.get("model_type") == "OBJECT_DETECTION"
    files = report.images or {}
    entries = list(section.get("images") or [])
    shown = []
    for entry in entries[:IMAGES_SHOWN]:
        items = entry.get("objects" if detection else "classes") or []
        objects_name = entry.get("objects_image")
        objects_uri = _data_uri(files[objects_name]) if isinstance(objects_name, str) and objects_name in files else None
        shown.append({
            "image": entry.get("image"), "num_segments": entry.get("num_segments"),
            "num_coalitions": entry.get("num_coalitions"),
            "exact": "exact Shapley values (every coalition evaluated)" if entry.get("exact") else "sampled estimate",
            "targets": [_target(item, files, detection) for item in items],
            "objects_image": objects_name, "objects_uri": objects_uri,
        })
    return {"model_type": section.get("model_type") or "not available", "detection": detection,
            "images": shown, "total": len(entries), "shown": len(shown), "top": TOP_SEGMENTS,
            "failed": [(f.get("image"), f.get("reason")) for f in section.get("failed_images") or []]}
