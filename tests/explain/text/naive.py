"""Obviously correct twins for the text engine: exact Shapley values by enumerating subsets."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pandas as pd


def naive_rebuild(units: list[str], gaps: list[str], present: list[bool], baseline: str) -> str:
    """Text from its units and the gaps around them (``gaps[0]`` before the first unit,
    ``gaps[-1]`` after the last), absent units replaced by ``baseline``; with an empty baseline
    the absent units are removed and, between two kept units, the first non-empty gap is kept."""
    if baseline or all(present):
        out = gaps[0]
        for j, unit in enumerate(units):
            out += (unit if present[j] else baseline) + gaps[j + 1]
        return out
    kept = [j for j, p in enumerate(present) if p]
    out = gaps[0]
    for a, b in zip(kept, kept[1:] + [None]):
        out += units[a]
        if b is not None:
            between = [g for g in gaps[a + 1:b + 1] if g]
            out += between[0] if between else ""
    return out + gaps[-1]


def exact_text_shapley(record: dict, tab: list[str], text_cols: list[str], units: dict, baseline_rows: list[dict],
                       weights: np.ndarray, model, features: list[str]) -> np.ndarray:
    """Shapley values (M, D) of [tabular features..., units of text_cols[0]..., ...] by enumeration.

    ``units[c]`` is a (units, gaps) pair for the record's text in column ``c``; ``model(frame)``
    returns scores (r, D); the value of a coalition is the weighted mean over the baseline rows.
    """
    players = [("tab", f, None) for f in tab] + [("unit", c, j) for c in text_cols for j in range(len(units[c][0]))]
    m = len(players)
    w = np.asarray(weights, dtype=float) / np.sum(weights)

    def value(subset):
        rows = []
        for base in baseline_rows:
            row = {}
            for f in tab:
                row[f] = record[f] if ("tab", f, None) in subset else base[f]
            for c in text_cols:
                u, g = units[c]
                present = [("unit", c, j) in subset for j in range(len(u))]
                row[c] = naive_rebuild(u, g, present, base[c])
            rows.append(row)
        scores = np.asarray(model(pd.DataFrame(rows, columns=features)), dtype=float)
        return w @ scores

    cache = {}
    for size in range(m + 1):
        for combo in itertools.combinations(range(m), size):
            cache[combo] = value({players[i] for i in combo})
    phi = np.zeros((m, cache[()].shape[0]))
    for j in range(m):
        others = [i for i in range(m) if i != j]
        for size in range(m):
            weight = factorial(size) * factorial(m - size - 1) / factorial(m)
            for combo in itertools.combinations(others, size):
                with_j = tuple(sorted(combo + (j,)))
                phi[j] += weight * (cache[with_j] - cache[combo])
    return phi
