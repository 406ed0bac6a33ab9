"""Resolve the column a config key addresses (by name or 0-based index) to its name."""

from __future__ import annotations

from typing import Sequence

from clarify_engine.errors import DataError

__all__ = ["describe_columns", "resolve_column"]

_MAX_LISTED = 40


def describe_columns(columns: Sequence[str]) -> str:
    """List column names for an error message (long lists are cut after 40 names)."""
    shown = ", ".join(repr(c) for c in list(columns)[:_MAX_LISTED])
    if len(columns) > _MAX_LISTED:
        shown += f", ... ({len(columns)} columns in all)"
    return shown or "(none)"


def resolve_column(key: str, name_or_index, columns: Sequence[str], what: str = "dataset") -> str:
    """Return the name of the column ``name_or_index`` addresses.

    Parameters
    ----------
    key : str
        JSON path of the config key, for messages (e.g. ``"facet[0].name_or_index"``).
    name_or_index : str or int
        A column name, or a 0-based position in ``columns``.
    columns : sequence of str
        Column names of the dataset the key refers to.
    what : str
        How messages name that dataset ("dataset", "facet dataset", ...).

    Raises
    ------
    DataError
        The name is not a column, or the index is out of range; the message lists the columns.
    """
    columns = list(columns)
    if isinstance(name_or_index, bool) or not isinstance(name_or_index, (str, int)):
        raise DataError(
            f"{key}: expected a column name or a 0-based column index, found {name_or_index!r}."
        )
    if isinstance(name_or_index, int):
        if 0 <= name_or_index < len(columns):
            return columns[name_or_index]
        raise DataError(
            f"{key}: column index {name_or_index} is out of range; the {what} has {len(columns)} "
            f"columns (indices 0 to {len(columns) - 1}): {describe_columns(columns)}. "
            f"Set {key} to the index or name of one of these columns."
        )
    if name_or_index in columns:
        return name_or_index
    raise DataError(
        f"{key}: column \"{name_or_index}\" not found in {what}; columns are: {describe_columns(columns)}. "
        f"Add column \"{name_or_index}\" to the {what}, or set {key} to one of these columns."
    )
