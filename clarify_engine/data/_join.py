"""Join a facet or predicted-label dataset onto the main dataset.

With a join key (``joinsource_name_or_index``) the join is an inner join, as Clarify
documents it: main rows keep their order, main rows whose key is absent from the other
dataset are dropped (a job warning gives the count and the first key), and keys must be unique in
the other dataset (a duplicated key would duplicate main rows, so it is an error).
Without a join key, rows are matched by position and the row counts must be equal.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from clarify_engine._warnings import warn
from clarify_engine.errors import DataError

__all__ = ["join_columns"]


def join_columns(
    main: pd.DataFrame,
    other: pd.DataFrame,
    columns: Sequence[str],
    *,
    main_key: str | None,
    other_key: str | None,
    what: str,
) -> pd.DataFrame:
    """Add ``columns`` of ``other`` to ``main``, matched by key or by row position.

    Parameters
    ----------
    main : pandas.DataFrame
        Shape ``(n, m)``: the main dataset.
    other : pandas.DataFrame
        Shape ``(k, j)``: the facet or predicted-label dataset.
    columns : sequence of str
        Columns of ``other`` to add (never its key column); they must not exist in ``main``.
    main_key, other_key : str or None
        Join-key column in each frame; both None for a positional join.
    what : str
        Name of ``other`` in messages, e.g. ``"facet dataset"``.

    Returns
    -------
    pandas.DataFrame
        Shape ``(n', m + len(columns))`` with a fresh RangeIndex; ``n' == n`` for a
        positional join, ``n' <= n`` for a key join. Dtypes are unchanged.
    """
    clash = [c for c in columns if c in main.columns]
    if clash:
        raise DataError(
            f"The {what} has columns {clash} that the main dataset also has; "
            "rename them (headers) so every column name is unique."
        )
    if main_key is None:
        if len(other) != len(main):
            raise DataError(
                f"The {what} has {len(other)} rows but the main dataset has {len(main)}; without "
                "joinsource_name_or_index rows are matched by position, so the counts must be equal."
            )
        added = other[list(columns)].reset_index(drop=True)
        return pd.concat([main.reset_index(drop=True), added], axis=1)

    keys = other[other_key]
    duplicated = keys[keys.duplicated()]
    if len(duplicated):
        shown = ", ".join(repr(v) for v in duplicated.unique()[:5].tolist())
        raise DataError(
            f"The {what} has duplicate values in join column {other_key!r} ({shown}); "
            "each key must appear at most once."
        )
    right = other[[other_key, *columns]]
    if other_key != main_key:
        right = right.rename(columns={other_key: main_key})
    try:
        joined = main.merge(right, how="inner", on=main_key, sort=False, validate="many_to_one")
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"Cannot join the {what} on {main_key!r}: {exc} (main key dtype {main[main_key].dtype}, "
            f"{what} key dtype {keys.dtype})."
        ) from exc
    if joined.empty and len(main):
        raise DataError(
            f"No row of the main dataset has a join key ({main_key!r}) that the {what} has "
            f"(key column {other_key!r}); check joinsource_name_or_index and the key values/dtypes "
            f"(main {main[main_key].dtype}, {what} {keys.dtype})."
        )
    dropped = len(main) - len(joined)
    if dropped:
        missing = main[main_key][~main[main_key].isin(keys)]
        warn(
            "join_dropped_rows",
            f"the inner join with the {what} on {main_key!r} dropped {dropped} of {len(main)} main rows whose key "
            f"it does not have (first: {missing.iloc[0]!r}).",
            fix=f"add those keys to the {what}, or remove those rows from the main dataset.",
            where=f"joinsource_name_or_index {main_key!r}",
        )
    return joined.reset_index(drop=True)
