"""Plain-language reading of each bias metric value.

``d`` is the sensitive group (the facet entry's ``value_or_threshold``), ``a`` every other
row; a positive label or prediction is taken as the favourable outcome. Directions follow
the formulas in ``docs/bias-metrics.md`` (contract §3; Clarify Developer Guide, "Measure
pre-training bias" and "Measure post-training data and model bias").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MetricMeaning", "MEANINGS", "sentence"]


@dataclass(frozen=True)
class MetricMeaning:
    """How to read one metric.

    Attributes
    ----------
    neutral : float
        The value of no difference between the groups (0, or 1 for DI).
    measures : str
        What the value compares, in a few words.
    above : str or None
        What a value above ``neutral`` means (None: the metric has no direction).
    below : str or None
        What a value below ``neutral`` means.
    favours_above : {"a", "d", None}
        The group a value above ``neutral`` favours.
    range : str
        The values the metric can take.
    """

    neutral: float
    measures: str
    above: str | None
    below: str | None
    favours_above: str | None
    range: str


MEANINGS: dict[str, MetricMeaning] = {
    "CI": MetricMeaning(0.0, "the share of rows in each group", "{d} has fewer rows than {a} (under-represented)",
                        "{d} has more rows than {a}", None, "-1 to 1"),
    "DPL": MetricMeaning(0.0, "the rate of positive observed labels", "{a} has more positive labels than {d}",
                         "{d} has more positive labels than {a}", "a", "-1 to 1"),
    "KL": MetricMeaning(0.0, "the label distributions (Kullback-Leibler)", None, None, None, "0 to infinity"),
    "JS": MetricMeaning(0.0, "the label distributions (Jensen-Shannon)", None, None, None, "0 to ln 2"),
    "LP": MetricMeaning(0.0, "the label distributions (L2 norm)", None, None, None, "0 to sqrt 2"),
    "TVD": MetricMeaning(0.0, "the label distributions (total variation)", None, None, None, "0 to 1"),
    "KS": MetricMeaning(0.0, "the label distributions (Kolmogorov-Smirnov)", None, None, None, "0 to 1"),
    "CDDL": MetricMeaning(0.0, "the share of {d} among rejected and accepted rows, within each group of the group variable",
                          "{d} makes up more of the negative labels than of the positive ones",
                          "{d} makes up more of the positive labels than of the negative ones", "a", "-1 to 1"),
    "DPPL": MetricMeaning(0.0, "the rate of positive predictions", "the model predicts positive more often for {a} than for {d}",
                          "the model predicts positive more often for {d} than for {a}", "a", "-1 to 1"),
    "DI": MetricMeaning(1.0, "the ratio of positive-prediction rates ({d} over {a})",
                        "{d} receives positive predictions more often than {a}",
                        "{d} receives positive predictions less often than {a} (below 0.8 is often read as adverse impact)",
                        "d", "0 to infinity"),
    "DCA": MetricMeaning(0.0, "observed positives per predicted positive",
                         "{a} is accepted less than its labels warrant, compared with {d}",
                         "{d} is accepted less than its labels warrant, compared with {a}", "d", "-infinity to infinity"),
    "DCR": MetricMeaning(0.0, "observed negatives per predicted negative",
                         "{d} is rejected less than its labels warrant, compared with {a}",
                         "{a} is rejected less than its labels warrant, compared with {d}", "d", "-infinity to infinity"),
    "RD": MetricMeaning(0.0, "recall (true positive rate)", "truly positive rows of {a} are found more often than those of {d}",
                        "truly positive rows of {d} are found more often than those of {a}", "a", "-1 to 1"),
    "SD": MetricMeaning(0.0, "specificity (true negative rate)",
                        "truly negative rows of {d} are rejected more reliably than those of {a} (fewer lucky acceptances for {d})",
                        "truly negative rows of {a} are rejected more reliably than those of {d}", "a", "-1 to 1"),
    "DAR": MetricMeaning(0.0, "precision of positive predictions",
                         "positive predictions for {a} are right more often; {d} gets more acceptances its labels do not support",
                         "positive predictions for {d} are right more often; {a} gets more acceptances its labels do not support",
                         "d", "-1 to 1"),
    "DRR": MetricMeaning(0.0, "precision of negative predictions",
                         "negative predictions for {d} are right more often; {a} gets more rejections its labels do not support",
                         "negative predictions for {a} are right more often; {d} gets more rejections its labels do not support",
                         "d", "-1 to 1"),
    "AD": MetricMeaning(0.0, "accuracy", "the model is more accurate for {a} than for {d}",
                        "the model is more accurate for {d} than for {a}", "a", "-1 to 1"),
    "TE": MetricMeaning(0.0, "false negatives per false positive",
                        "{d} has more false negatives per false positive than {a} (wrongly rejected more)",
                        "{a} has more false negatives per false positive than {d}", "a", "-infinity to infinity"),
    "CDDPL": MetricMeaning(0.0, "the share of {d} among predicted rejections and acceptances, within each group of the group variable",
                           "{d} makes up more of the negative predictions than of the positive ones",
                           "{d} makes up more of the positive predictions than of the negative ones", "a", "-1 to 1"),
    "FT": MetricMeaning(0.0, "predictions for {d} against those of their nearest neighbours in {a}",
                        "more rows of {d} are predicted positive than their neighbours in {a} would be",
                        "more rows of {d} are predicted negative than their neighbours in {a} would be", "d", "-1 to 1"),
    "GE": MetricMeaning(0.0, "how unequally the benefit of predictions is spread over individuals (whole dataset)", None,
                        None, None, "0 and up"),
}


def _group_names(facet: str, value: str) -> dict[str, str]:
    return {"d": f"{facet} = {value}" if value else f"{facet} (empty interval)", "a": f"the rest of {facet}"}


def sentence(name: str, value, error: str | None, facet: str, value_or_threshold: str) -> str:
    """One sentence saying what ``value`` of metric ``name`` means for this facet entry.

    Parameters
    ----------
    name : str
        Metric abbreviation (``"DPL"``).
    value : float, str or None
        The metric value as in ``analysis.json`` (``"Infinity"`` strings included).
    error : str or None
        The metric's error, when it could not be computed.
    facet, value_or_threshold : str
        The facet entry; they name the groups ``d`` and ``a`` in the sentence.
    """
    groups = _group_names(facet, value_or_threshold)
    if value is None:
        return f"{name} could not be computed: {error or 'no reason was given'}."
    meaning = MEANINGS.get(name)
    if meaning is None:
        return f"{name} = {value}; this report has no reading for this metric."
    number = {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, value) if isinstance(value, str) else value
    try:
        number = float(number)
    except (TypeError, ValueError):
        return f"{name} = {value!r} is not a number; this report cannot read it."
    shown = _fmt(number)
    neutral = "1" if meaning.neutral == 1.0 else "0"
    scale = f"({neutral} is no difference; range {meaning.range})"
    if abs(number - meaning.neutral) < 1e-12:
        return f"{name} = {shown}: no difference between {groups['d']} and {groups['a']} {scale}."
    if meaning.above is None:
        if name == "GE":
            return f"{name} = {shown}: {meaning.measures}; 0 is perfectly even (range {meaning.range})."
        return (f"{name} = {shown}: the label distributions of {groups['d']} and {groups['a']} differ by this measure; "
                f"it has no direction, see DPL {scale}.")
    above = number > meaning.neutral
    text = f"{name} = {shown}: " + (meaning.above if above else meaning.below).format(**groups)
    if meaning.favours_above is not None:
        favoured = meaning.favours_above if above else ("d" if meaning.favours_above == "a" else "a")
        text += f"; favours {groups[favoured]}"
    return f"{text} {scale}."


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    return f"{x:.6g}"
