"""Batching: many records to few, large, concurrent requests that survive faults.

:class:`Batcher` is the facade; :class:`RetryPolicy` says how often and how long to retry, and
:class:`ConcurrencyLimiter` how many requests may be in flight while an endpoint throttles.
"""

from clarify_engine.predict.batching._batcher import FALLBACK_MESSAGE, Batcher, BatchStats
from clarify_engine.predict.batching._limiter import ConcurrencyLimiter
from clarify_engine.predict.batching._retry import RetryPolicy

__all__ = ["FALLBACK_MESSAGE", "BatchStats", "Batcher", "ConcurrencyLimiter", "RetryPolicy"]
