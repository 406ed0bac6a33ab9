"""What the dataset loader reads: the dataset keys of a job, resolved once by the planner.

:class:`DataSpec` holds the dataset-related keys of ``analysis_config.json`` as plain,
validated values. :func:`clarify_engine.job.plan_data` builds it from the typed config (the
config is read nowhere else); :func:`clarify_engine.data.read_table` builds one for a single
table (a SHAP baseline file).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataSpec", "FacetKey"]


@dataclass(frozen=True)
class FacetKey:
    """One entry of the ``facet`` list: a column address and optional values."""

    name_or_index: str | int
    value_or_threshold: tuple | None = None


@dataclass(frozen=True)
class DataSpec:
    """The dataset keys of a job (``None`` when absent), as the loader reads them.

    Attributes
    ----------
    dataset_type : str
        One of ``text/csv``, ``application/jsonlines``, ``application/json``,
        ``application/x-parquet`` (lower case).
    dataset_uri : str or None
        The main dataset's location; a ``source`` given to the loader takes precedence.
    headers : tuple of str or None
        Column names of the main dataset (unique).
    label, predicted_label, joinsource_name_or_index, group_variable : str, int or None
        Column addresses (name or 0-based index); for JSON data ``label`` and
        ``predicted_label`` are JMESPath expressions.
    features : str or None
        JMESPath of the feature values in JSON Lines / JSON records.
    excluded_columns : tuple or None
        Columns kept from the model.
    facet_dataset_uri, predicted_label_dataset_uri : str or None
        Separate CSV datasets joined in, with ``facet_headers`` / ``predicted_label_headers``.
    facet : tuple of FacetKey
        The facets, in config order.
    """

    dataset_type: str
    dataset_uri: str | None = None
    headers: tuple[str, ...] | None = None
    label: str | int | None = None
    predicted_label: str | int | None = None
    features: str | None = None
    excluded_columns: tuple[str | int, ...] | None = None
    joinsource_name_or_index: str | int | None = None
    facet_dataset_uri: str | None = None
    facet_headers: tuple[str, ...] | None = None
    predicted_label_dataset_uri: str | None = None
    predicted_label_headers: tuple[str, ...] | None = None
    facet: tuple[FacetKey, ...] = ()
    group_variable: str | int | None = None
