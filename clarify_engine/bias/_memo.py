"""Column codings shared by the bias reports of one job.

A job computes pre- and post-training metrics on the same frame: the label, each facet and the
group variable are typed, coded and binarised the same way for both stages. A
:class:`ColumnMemo` keeps each such result for the next report, keyed by the column's name,
its values' memory (address, length, stride, dtype) and the settings that shaped it, and
holds the column's array so that memory cannot be reused by another column while the memo
lives. A column whose values are not one numpy array (nullable or Arrow dtypes) is not kept.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

import numpy as np
import pandas as pd

__all__ = ["ColumnMemo"]

T = TypeVar("T")


def _identity(series: pd.Series) -> tuple | None:
    """Where the column's values live, or None when they are not one numpy array."""
    if not isinstance(series.dtype, np.dtype) or series.dtype == np.dtype(object):
        return None
    values = series.to_numpy()
    return (values.__array_interface__["data"][0], values.shape, values.strides, values.dtype.str)


class ColumnMemo:
    """Results computed from a column, kept for the other reports of the same job.

    Examples
    --------
    >>> memo = ColumnMemo()
    >>> s = pd.Series([1, 2, 1], name="g")
    >>> memo.get("codes", s, (), lambda: s.nunique()) is memo.get("codes", s, (), lambda: -1)
    True
    """

    def __init__(self) -> None:
        self._items: dict[Hashable, tuple[Any, np.ndarray]] = {}

    def get(self, role: str, series: pd.Series, settings: tuple, make: Callable[[], T]) -> T:
        """``make()``, computed once per ``role``, column and ``settings``.

        Parameters
        ----------
        role : str
            What is computed (``"label"``, ``"group"``, ``"facet"``...).
        series : pandas.Series
            The column it is computed from.
        settings : tuple
            Whatever else the result depends on (values, typing); compared by ``repr``, so
            ``[1]`` and ``[1.0]`` are different settings.
        make : callable
            Computes the result.
        """
        where = _identity(series)
        if where is None:
            return make()
        key = (role, str(series.name), repr(settings), where)
        found = self._items.get(key)
        if found is None:
            found = (make(), series.to_numpy())
            self._items[key] = found
        return found[0]
