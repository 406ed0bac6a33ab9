"""Shared by the segment tests: a resolved bias stage written in the order the tests read."""

from __future__ import annotations

from clarify_engine.bias import BiasSpec


def stage_spec(label, label_values, facets, stage, methods, **kwargs) -> BiasSpec:
    """A :class:`BiasSpec` of ``stage`` with ``methods`` as given (already resolved)."""
    return BiasSpec(stage, label, tuple(label_values), tuple(facets), tuple(methods), **kwargs)
