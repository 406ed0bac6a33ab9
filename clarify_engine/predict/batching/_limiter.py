"""How many requests may be in flight: the configured concurrency, less while the endpoint throttles.

Additive increase, multiplicative decrease, as TCP does with its window: a throttled reply
halves the limit (down to 1), and every ``REGROW * limit`` requests that go through in a row
raise it by one again (up to the configured concurrency). Only a request sent since the last
decrease can decrease it again, so that the replies of one burst, already on their way, count
once. Regrowing slowly keeps the probing cheap: at a limit of 1, one refused request in about
``REGROW + 1``.

Without this, every worker of a throttled run keeps sending at full concurrency and retries
on its own schedule, and most attempts are refused again; with it the run settles near the
concurrency the endpoint admits.
"""

from __future__ import annotations

import threading

from clarify_engine.predict._check import positive_int

__all__ = ["REGROW", "ConcurrencyLimiter"]

#: Requests through in a row, per unit of the limit, before the limit grows by one.
REGROW = 4


class ConcurrencyLimiter:
    """A counting limit of requests in flight that throttling lowers and success raises.

    Parameters
    ----------
    ceiling : int
        The configured concurrency: the limit at the start and at most.

    Attributes
    ----------
    limit : int
        Requests allowed in flight now (1 <= limit <= ceiling).
    in_use : int
        Requests in flight now.
    """

    def __init__(self, ceiling: int):
        positive_int("ConcurrencyLimiter", "ceiling", ceiling)
        self.ceiling = ceiling
        self.limit = ceiling
        self.in_use = 0
        self._epoch = 0  # changes at every decrease
        self._streak = 0  # requests through since the limit last changed
        self._cond = threading.Condition(threading.Lock())

    def acquire(self, timeout: float) -> int | None:
        """Take a place (waiting up to ``timeout`` seconds); a token for :meth:`release`, or None."""
        with self._cond:
            if self.in_use >= self.limit and not self._cond.wait_for(lambda: self.in_use < self.limit, timeout):
                return None
            self.in_use += 1
            return self._epoch

    def release(self, token: int, outcome: str) -> bool:
        """Give the place back, saying how the request went; True when this halved the limit.

        ``outcome``: ``"ok"`` (an answer came), ``"throttled"`` (the endpoint refused it as
        too many requests) or anything else (a fault that says nothing about the load).
        """
        with self._cond:
            self.in_use -= 1
            decreased = False
            if outcome == "ok":
                self._streak += 1
                if self._streak >= REGROW * self.limit and self.limit < self.ceiling:
                    self.limit += 1
                    self._streak = 0
                    self._cond.notify()
            elif outcome == "throttled" and token == self._epoch:
                decreased = self.limit > 1
                self.limit = max(1, self.limit // 2)
                self._epoch += 1
                self._streak = 0
            self._cond.notify()
            return decreased
