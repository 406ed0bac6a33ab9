"""Typed bias results: a metric's value or error, per facet value, per facet, per stage.

These are what the bias engine returns. Clarify's analysis.json shape is built from them in
one place only, :func:`clarify_engine.report._bias_json.bias_json`
(:meth:`BiasReport.to_clarify_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass

from clarify_engine.errors import MetricError

__all__ = ["BiasReport", "FacetEntry", "FacetReport", "MetricResult"]


@dataclass(frozen=True)
class MetricResult:
    """One metric of one facet value: its value, or why it cannot be computed.

    Attributes
    ----------
    name : str
        Clarify's abbreviation, e.g. ``"DPPL"``.
    description : str
        Clarify's description string.
    value : float or None
        The value (may be ±inf); None exactly when ``error`` is set.
    error : str or None
        Clarify's message when the metric cannot be computed (an empty group, ...).
    """

    name: str
    description: str
    value: float | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the metric has a value."""
        return self.error is None


@dataclass(frozen=True)
class FacetEntry:
    """The metrics of one sensitive group: one facet value list, threshold or distinct value.

    Attributes
    ----------
    value_or_threshold : str
        The sensitive values joined by ``","``, the threshold interval (``"(40, 80]"``), or
        one distinct value, as Clarify writes it.
    metrics : tuple of MetricResult
        In catalogue order (sorted by name within a stage).
    """

    value_or_threshold: str
    metrics: tuple[MetricResult, ...]

    def __getitem__(self, name: str) -> float:
        """The value of metric ``name``.

        Raises
        ------
        KeyError
            If the metric was not computed (the message lists the computed ones).
        MetricError
            If the metric could not be computed; the message is Clarify's.
        """
        for metric in self.metrics:
            if metric.name == name:
                if metric.value is None:
                    raise MetricError(f"{name} of {self.value_or_threshold!r}: {metric.error}")
                return metric.value
        raise KeyError(f"metric {name!r} was not computed for {self.value_or_threshold!r}; "
                       f"computed: {[m.name for m in self.metrics]}")

    def values(self) -> dict[str, float | None]:
        """``{name: value}`` of every metric (None where it could not be computed)."""
        return {m.name: m.value for m in self.metrics}

    def errors(self) -> dict[str, str]:
        """``{name: message}`` of the metrics that could not be computed."""
        return {m.name: m.error for m in self.metrics if m.error is not None}


@dataclass(frozen=True)
class FacetReport:
    """The entries of one facet column.

    Attributes
    ----------
    name : str
        Facet column name.
    entries : tuple of FacetEntry
        One per configured value list or threshold, or one per distinct value (one-vs-rest),
        in Clarify's order.
    """

    name: str
    entries: tuple[FacetEntry, ...]

    def entry(self, value_or_threshold: str | None = None) -> FacetEntry:
        """The entry whose ``value_or_threshold`` is given; the only entry when None.

        Raises
        ------
        KeyError
            If no entry has that value, or None is given and there are several entries;
            the message lists the entries.
        """
        names = [e.value_or_threshold for e in self.entries]
        if value_or_threshold is None:
            if len(self.entries) == 1:
                return self.entries[0]
            raise KeyError(f"facet {self.name!r} has {len(self.entries)} entries {names}; "
                           "name one: .entry(value_or_threshold)")
        for e in self.entries:
            if e.value_or_threshold == value_or_threshold:
                return e
        raise KeyError(f"facet {self.name!r} has no entry {value_or_threshold!r}; entries are {names}")

    def __getitem__(self, name: str) -> float:
        """Metric ``name`` of the only entry (see :meth:`entry`)."""
        return self.entry()[name]


@dataclass(frozen=True)
class BiasReport:
    """The bias metrics of one stage: every facet's entries, as the bias engine returns them.

    Attributes
    ----------
    stage : {"pre_training", "post_training"}
    label : str
        Label column name.
    label_value_or_threshold : str
        The positive label values joined by ``","`` or the threshold interval.
    facets : tuple of FacetReport
        In the order first configured; a facet configured twice has one report holding
        the entries of both.
    """

    stage: str
    label: str
    label_value_or_threshold: str
    facets: tuple[FacetReport, ...]

    def facet(self, name: str) -> FacetReport:
        """The report of facet column ``name``.

        Raises
        ------
        KeyError
            If ``name`` is not a facet of the report (the message lists them).
        """
        for f in self.facets:
            if f.name == name:
                return f
        raise KeyError(f"no facet {name!r} in the bias report; facets are {[f.name for f in self.facets]}")

    def to_clarify_dict(self) -> dict:
        """analysis.json's bias section (``pre_training_bias_metrics`` or ``post_training_bias_metrics``)."""
        from clarify_engine.report._bias_json import bias_json

        return bias_json(self)
