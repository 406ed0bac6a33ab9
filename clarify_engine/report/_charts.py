"""The report's charts, drawn with matplotlib and embedded as PNG ``data:`` URIs.

Every chart is built from aggregates (metric values, global SHAP values, PDP curves) or from
a bounded sample of local SHAP values, so its size does not grow with the dataset. matplotlib
is imported here only, with the non-interactive Agg backend, when a chart is drawn.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Sequence

import numpy as np

__all__ = ["bias_chart", "pdp_chart", "shap_bar_chart", "shap_beeswarm_chart"]

#: Resolution of the embedded PNGs: sharp on screen and in the A4 PDF, a few tens of kB each.
DPI = 96
_BAR = "#2b6cb0"
_BARS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#b7791f", "#4a5568", "#e53e3e", "#3182ce"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def bias_chart(facet: str, metric_names: Sequence[str], series: Sequence[tuple[str, Sequence]],
               neutral: dict[str, float]) -> str:
    """Horizontal bars of one facet's metric values, one colour per facet value.

    Parameters
    ----------
    facet : str
    metric_names : sequence of str, length m
        Rows of the chart, top to bottom.
    series : sequence of (value_or_threshold, values)
        ``values`` has length m; None (not computed) and ``"Infinity"`` strings allowed.
    neutral : dict
        Value of no difference per metric (1 for DI, else 0); each row's bar starts there and
        the row's neutral value is marked by a black tick.
    """
    plt = _pyplot()
    m, k = len(metric_names), max(1, len(series))
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.3 * m * max(1.0, 0.35 * k)))
    height = 0.8 / k
    finite = [abs(v - neutral.get(n, 0.0)) for _, vals in series for n, v in zip(metric_names, map(_number, vals))
              if v is not None and math.isfinite(v)]
    span = max(finite, default=1.0) or 1.0
    for j, (label, vals) in enumerate(series):
        for i, (name, raw) in enumerate(zip(metric_names, vals)):
            y = m - 1 - i + (k - 1 - 2 * j) * height / 2
            v = _number(raw)
            base = neutral.get(name, 0.0)
            if v is None:
                ax.text(base, y, "  not computed", va="center", fontsize=7, color="#718096")
                continue
            width = v - base
            if not math.isfinite(width):
                width = math.copysign(span * 1.1, width)
                ax.text(base + width, y, " ∞" if v > 0 else "-∞ ", va="center", fontsize=8,
                        ha="left" if v > 0 else "right")
            ax.barh(y, width, left=base, height=height * 0.9, color=_BARS[j % len(_BARS)])
    for i, name in enumerate(metric_names):
        base = neutral.get(name, 0.0)
        ax.plot([base, base], [m - 1 - i - 0.45, m - 1 - i + 0.45], color="black", linewidth=1.2)
    ax.set_yticks(range(m))
    ax.set_yticklabels(list(reversed(list(metric_names))))
    ax.axvline(0.0, color="#a0aec0", linewidth=0.6, linestyle=":")
    ax.set_xlabel("metric value (black tick: no difference; 1 for DI, 0 for the others)")
    ax.set_title(f"Facet {facet}", fontsize=10)
    if series:
        from matplotlib.patches import Patch

        handles = [Patch(color=_BARS[j % len(_BARS)], label=str(label)) for j, (label, _) in enumerate(series)]
        ax.legend(handles=handles, title="value(s)/threshold", fontsize=7, title_fontsize=7, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def shap_bar_chart(label: str, names: Sequence[str], values: Sequence[float],
                   errors: Sequence[float] | None, agg_method: str | None) -> str:
    """Global SHAP values of one model output, largest on top, with standard-error bars."""
    plt = _pyplot()
    n = len(names)
    fig, ax = plt.subplots(figsize=(7.0, 0.8 + 0.28 * max(n, 1)))
    y = np.arange(n)[::-1]
    xerr = None if errors is None else np.asarray([0.0 if e is None else e for e in errors], float)
    ax.barh(y, np.asarray(values, float), xerr=xerr, color=_BAR, ecolor="black", capsize=3 if xerr is not None else 0)
    ax.set_yticks(y)
    ax.set_yticklabels(list(names))
    ax.axvline(0.0, color="black", linewidth=0.8)
    what = f"global SHAP value ({agg_method})" if agg_method else "global SHAP value"
    ax.set_xlabel(what + ("; bars: ± one standard error" if xerr is not None else ""))
    ax.set_title(f"Output {label}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def shap_beeswarm_chart(label: str, names: Sequence[str], columns: Sequence[np.ndarray]) -> str:
    """Local SHAP values of sampled rows: one row of dots per feature, spread by density."""
    plt = _pyplot()
    n = len(names)
    fig, ax = plt.subplots(figsize=(7.0, 0.8 + 0.36 * max(n, 1)))
    rng = np.random.default_rng(0)
    for i, values in enumerate(columns):
        values = np.asarray(values, float)
        values = values[np.isfinite(values)]
        y0 = n - 1 - i
        if values.size == 0:
            continue
        counts, edges = np.histogram(values, bins=min(50, max(5, values.size // 10)))
        which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, counts.size - 1)
        density = counts[which] / counts.max()
        offsets = (rng.random(values.size) - 0.5) * 0.8 * density
        ax.scatter(values, y0 + offsets, s=5, alpha=0.5, color=_BARS[i % len(_BARS)], linewidths=0)
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(list(names))))
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("local SHAP value (one dot per sampled row)")
    ax.set_title(f"Output {label}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def pdp_chart(feature: str, data_type: str, x: Sequence, curves: Sequence[tuple[str, Sequence[float]]],
              distribution: Sequence[float] | None) -> str:
    """Partial dependence curves of one feature over the data distribution's bars."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    categorical = data_type != "numerical" or not all(isinstance(v, (int, float)) for v in x)
    positions = np.arange(len(x)) if categorical else np.asarray(x, float)
    bars = ax.twinx()
    if distribution is not None and len(distribution) == len(x):
        if categorical or len(x) < 2:
            width = 0.8
        else:
            width = 0.8 * float(np.min(np.diff(np.sort(positions)))) if len(x) > 1 else 1.0
        bars.bar(positions, distribution, width=width, color="#cbd5e0", alpha=0.7, zorder=0)
        bars.set_ylabel("share of rows")
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    for j, (label, ys) in enumerate(curves):
        ax.plot(positions, ys, marker="o", markersize=3, color=_BARS[j % len(_BARS)], label=str(label))
    if categorical:
        ax.set_xticks(positions)
        ax.set_xticklabels([str(v) for v in x], rotation=45 if len(x) > 6 else 0, ha="right" if len(x) > 6 else "center",
                           fontsize=7)
    ax.set_xlabel(feature)
    ax.set_ylabel("average model output")
    ax.set_title(f"Partial dependence on {feature}", fontsize=10)
    if len(curves) > 1:
        ax.legend(fontsize=7, title="output", title_fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)
