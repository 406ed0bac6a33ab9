"""The in-flight limit that throttling halves and success regrows."""

from __future__ import annotations

import threading
import time

import pytest

from clarify_engine.predict.batching._limiter import REGROW, ConcurrencyLimiter


def test_throttling_halves_down_to_one_once_per_burst():
    limiter = ConcurrencyLimiter(8)
    tokens = [limiter.acquire(0) for _ in range(8)]
    assert None not in tokens and limiter.acquire(0) is None  # full
    assert limiter.release(tokens[0], "throttled") is True
    assert limiter.limit == 4
    # the rest of the burst was sent before the decrease: it does not count again
    assert [limiter.release(t, "throttled") for t in tokens[1:]] == [False] * 7
    assert (limiter.limit, limiter.in_use) == (4, 0)
    held = [limiter.acquire(0) for _ in range(4)]
    assert None not in held and limiter.acquire(0) is None  # the lower limit holds back a fifth
    for token in held:
        limiter.release(token, "failed")
    for before, after in ((4, 2), (2, 1), (1, 1)):
        assert limiter.release(limiter.acquire(0), "throttled") is (after < before)
        assert limiter.limit == after


def test_success_regrows_the_limit_by_one_per_round_up_to_the_ceiling():
    limiter = ConcurrencyLimiter(3)
    limiter.release(limiter.acquire(0), "throttled")
    assert limiter.limit == 1
    for _ in range(REGROW * 1 - 1):
        limiter.release(limiter.acquire(0), "ok")
    assert limiter.limit == 1
    limiter.release(limiter.acquire(0), "ok")
    assert limiter.limit == 2
    for _ in range(REGROW * 2 + REGROW * 3 * 5):
        limiter.release(limiter.acquire(0), "ok")
    assert limiter.limit == 3  # never above the ceiling


def test_other_failures_leave_the_limit_alone():
    limiter = ConcurrencyLimiter(4)
    for _ in range(10):
        assert limiter.release(limiter.acquire(0), "failed") is False
    assert limiter.limit == 4


def test_a_waiting_request_goes_when_a_place_frees_or_times_out():
    limiter = ConcurrencyLimiter(1)
    token = limiter.acquire(0)
    started = time.perf_counter()
    assert limiter.acquire(0.05) is None
    assert time.perf_counter() - started >= 0.05
    got = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire(5)))
    waiter.start()
    time.sleep(0.05)
    limiter.release(token, "ok")
    waiter.join(5)
    assert got == [0] and limiter.in_use == 1


def test_many_threads_never_exceed_the_limit():
    limiter = ConcurrencyLimiter(3)
    peak, lock = [0], threading.Lock()

    def work(i):
        for j in range(50):
            token = limiter.acquire(5)
            with lock:
                peak[0] = max(peak[0], limiter.in_use)
                assert limiter.in_use <= 3  # the ceiling (a decrease does not recall requests already out)
            time.sleep(0.0005)
            limiter.release(token, "throttled" if (i + j) % 17 == 0 else "ok")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert limiter.in_use == 0 and 1 <= limiter.limit <= 3 and peak[0] <= 3


def test_ceiling_must_be_positive():
    with pytest.raises(ValueError, match="ceiling: expected an int >= 1, found 0"):
        ConcurrencyLimiter(0)
