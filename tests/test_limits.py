"""RateLimiter: concurrency, sliding-window rpm/tpm, oversize requests, FIFO, cancellation.

Runs on an event loop with virtual time: `loop.time()` is a counter that jumps to the next timer
whenever every task is blocked, so `asyncio.sleep(60)` costs nothing and the limiter (given
`clock=loop.time`) sleeps through the real asyncio machinery. If every task is blocked with no
timer pending (a deadlock), or virtual time runs past a limit, or the loop spins on timers
(sleep-polling), the loop raises instead of hanging.
"""

from __future__ import annotations

import asyncio
import random
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from harness.llm.limits import LimiterStats, RateLimiter


class Deadlock(RuntimeError):
    pass


class _VirtualSelector(selectors.SelectSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise Deadlock("every task is blocked and no timer is pending")
        loop = self.loop
        assert loop is not None
        loop.now += timeout
        loop.timer_jumps += 1
        if loop.now > loop.max_time or loop.timer_jumps > loop.max_jumps:
            raise Deadlock(
                f"still waiting at virtual t={loop.now:.1f} s after {loop.timer_jumps} timer jumps"
            )
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, max_time: float = 100_000.0, max_jumps: int = 20_000) -> None:
        self.now = 0.0
        self.max_time = max_time
        self.timer_jumps = 0
        self.max_jumps = max_jumps
        selector = _VirtualSelector()
        super().__init__(selector=selector)
        selector.loop = self

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[VirtualTimeLoop], Coroutine[Any, Any, Any]]) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        # After a failure, finish the leftover tasks here: coroutines garbage-collected later, while
        # pytest formats the traceback, can crash it (CPython 3.11 "AST recursion depth mismatch").
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.max_time = loop.now + 1.0
            try:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            except Deadlock:
                pass
        loop.close()


def max_in_window(times: list[float], weights: list[float] | None = None, window: float = 60.0) -> float:
    """The largest total weight started in any half-open window [a, a + window)."""
    order = sorted(range(len(times)), key=lambda i: times[i])
    ts = [times[i] for i in order]
    ws = [1.0 if weights is None else weights[i] for i in order]
    best = total = 0.0
    j = 0
    for i in range(len(ts)):  # windows starting at each start time cover every maximum
        total += ws[i]
        while ts[j] <= ts[i] - window:
            total -= ws[j]
            j += 1
        best = max(best, total)
    return best


def test_virtual_loop_detects_deadlock_and_endless_waits():
    async def blocked(loop):
        await loop.create_future()

    async def forever(loop):
        while True:
            await asyncio.sleep(3600)

    async def polling(loop):
        while True:
            await asyncio.sleep(1e-9)

    for main in (blocked, forever, polling):
        with pytest.raises(Deadlock):
            run_virtual(main)


def test_max_in_window_helper():
    assert max_in_window([0, 10, 59.9, 60, 61]) == 4  # [10, 70)
    assert max_in_window([0, 10, 59.9, 60, 61], [5, 1, 1, 7, 1]) == 10
    assert max_in_window([0, 10, 59.9, 60, 61], [50, 1, 1, 7, 1]) == 52  # [0, 60)
    assert max_in_window([0, 60, 120]) == 1


def test_concurrency_never_exceeds_max_and_reaches_it():
    async def main(loop):
        lim = RateLimiter(4, clock=loop.time)
        rng = random.Random(1)
        state = {"now": 0, "max": 0}

        async def req():
            async with lim.slot(10):
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
                await asyncio.sleep(rng.uniform(0.1, 2.0))
                state["now"] -= 1

        await asyncio.gather(*(req() for _ in range(60)))
        return state, lim.stats(), loop.time()

    state, stats, elapsed = run_virtual(main)
    assert state["max"] == 4
    assert stats.requests == 60 and stats.in_flight == 0 and stats.waiting == 0
    assert stats.waited == 56 and stats.wait_s > 0
    # Work-conserving: 60 requests of mean ~1.05 s on 4 slots take ~16 s, not much more.
    assert elapsed < 60 * 2.0 / 4 + 2


def test_rpm_no_window_over_limit_and_throughput_near_limit():
    async def main(loop):
        lim = RateLimiter(64, rpm=60, clock=loop.time)
        starts: list[float] = []

        async def req():
            async with lim.slot(0):
                starts.append(loop.time())
                await asyncio.sleep(0.5)

        await asyncio.gather(*(req() for _ in range(150)))
        return starts, lim.stats()

    starts, stats = run_virtual(main)
    assert len(starts) == 150
    assert max_in_window(starts) == 60
    # 60 at t=0, 60 at t=60, 30 at t=120: the limit is used fully, no slack.
    assert starts[59] == 0.0
    assert 60.0 <= starts[60] < 60.001
    assert 120.0 <= max(starts) < 120.01
    assert stats.requests == 150 and stats.waited == 90


def test_rpm_with_spread_arrivals_and_fractional_limit():
    async def main(loop):
        lim = RateLimiter(8, rpm=30.7, clock=loop.time)  # at most 30 per window
        rng = random.Random(7)
        starts: list[float] = []

        async def req(delay):
            await asyncio.sleep(delay)
            async with lim.slot(0):
                starts.append(loop.time())
                await asyncio.sleep(rng.uniform(0.1, 3))

        await asyncio.gather(*(req(rng.uniform(0, 200)) for _ in range(120)))
        return starts

    starts = run_virtual(main)
    assert len(starts) == 120
    assert max_in_window(starts) <= 30
    assert max_in_window(starts) == 30  # the limit is reached, not undershot


def test_tpm_with_estimates_and_record_corrections():
    tpm = 10_000

    async def main(loop):
        lim = RateLimiter(16, tpm=tpm, clock=loop.time)
        rng = random.Random(3)
        n = 80
        starts: list[float] = [-1.0] * n
        accounted: list[int] = [0] * n

        async def req(i):
            est = rng.randint(300, 2500)
            async with lim.slot(est) as permit:
                starts[i] = loop.time()
                await asyncio.sleep(rng.uniform(0.5, 5))
                actual = int(est * rng.uniform(0.3, 1.0))
                permit.record(actual)
                assert permit.tokens == actual and permit.estimated_tokens == est
                accounted[i] = actual

        await asyncio.gather(*(req(i) for i in range(n)))
        return starts, accounted, lim.stats()

    starts, accounted, stats = run_virtual(main)
    assert min(starts) == 0.0
    # Each start saw earlier requests at their estimate or (lower) actual, so the final accounting
    # is within the limit in every window...
    assert max_in_window(starts, accounted) <= tpm
    assert stats.tokens == sum(accounted)
    # ...and the freed budget is used: the run takes about total / tpm minutes, not the estimates'.
    minutes_needed = sum(accounted) / tpm
    assert max(starts) <= 60 * (minutes_needed + 1)


def test_tpm_window_bound_uses_estimates_when_not_recorded():
    async def main(loop):
        lim = RateLimiter(64, tpm=1000, clock=loop.time)
        starts: list[float] = []
        tokens: list[int] = []

        async def req(n):
            async with lim.slot(n):
                starts.append(loop.time())
                tokens.append(n)

        sizes = [100, 250, 400, 50, 300, 999, 1, 600, 200, 200, 350, 700, 120]
        await asyncio.gather(*(req(n) for n in sizes * 3))
        return starts, tokens

    starts, tokens = run_virtual(main)
    assert max_in_window(starts, tokens) <= 1000
    # FIFO packing of sizes*3 (~13.8k tokens) fits in about 14-20 windows of 60 s.
    assert max(starts) <= 60 * 20


def test_record_lower_usage_frees_budget_early():
    async def main(loop):
        lim = RateLimiter(4, tpm=1000, clock=loop.time)
        started: dict[str, float] = {}

        async def first():
            async with lim.slot(900) as permit:
                started["first"] = loop.time()
                await asyncio.sleep(2)
                permit.record(100)  # it used far less than estimated

        async def second():
            await asyncio.sleep(0.1)
            async with lim.slot(800):
                started["second"] = loop.time()

        await asyncio.gather(first(), second())
        return started

    started = run_virtual(main)
    assert started["first"] == 0.0
    assert started["second"] == pytest.approx(2.0)  # not 60: woken by record()


def test_record_higher_usage_delays_later_requests():
    async def main(loop):
        lim = RateLimiter(4, tpm=1000, clock=loop.time)
        async with lim.slot(100) as permit:
            permit.record(1000)
        async with lim.slot(100):
            return loop.time(), lim.stats()

    t, stats = run_virtual(main)
    assert t == pytest.approx(60.0)
    assert stats.tokens == 1100


def test_oversize_request_runs_alone_without_deadlock():
    async def main(loop):
        lim = RateLimiter(8, tpm=1000, clock=loop.time)
        starts: dict[str, float] = {}

        async def req(name, n, delay=0.0):
            await asyncio.sleep(delay)
            async with lim.slot(n):
                starts[name] = loop.time()
                await asyncio.sleep(1)

        await asyncio.gather(
            req("small", 300),
            req("huge", 5000, 0.1),  # waits until "small" left the window, then runs alone
            req("after", 10, 0.2),  # FIFO: behind "huge", then waits for it to leave the window
        )
        return starts

    starts = run_virtual(main)
    assert starts["small"] == 0.0
    assert starts["huge"] == pytest.approx(60.0)
    assert starts["after"] == pytest.approx(120.0)


def test_oversize_request_on_empty_window_starts_at_once():
    async def main(loop):
        lim = RateLimiter(1, rpm=5, tpm=100, clock=loop.time)
        async with lim.slot(10_000):
            return loop.time()

    assert run_virtual(main) == 0.0


def test_fifo_order_under_concurrency_limit():
    async def main(loop):
        lim = RateLimiter(1, clock=loop.time)
        order: list[int] = []
        gate = asyncio.Event()

        async def holder():
            async with lim.slot(0):
                await gate.wait()

        async def req(i):
            async with lim.slot(0):
                order.append(i)
                await asyncio.sleep(0.01)

        h = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        tasks = []
        for i in range(20):
            tasks.append(asyncio.ensure_future(req(i)))
            await asyncio.sleep(0)  # enqueue in this order
        assert lim.stats().waiting == 20
        gate.set()
        await asyncio.gather(h, *tasks)
        return order

    assert run_virtual(main) == list(range(20))


def test_fifo_small_request_does_not_overtake_a_waiting_large_one():
    async def main(loop):
        lim = RateLimiter(8, tpm=1000, clock=loop.time)
        order: list[str] = []

        async def req(name, n, delay):
            await asyncio.sleep(delay)
            async with lim.slot(n):
                order.append(name)

        await asyncio.gather(req("a", 800, 0), req("big", 500, 1), req("small", 100, 2))
        return order, loop.time()

    order, t = run_virtual(main)
    # "small" would fit next to "a" (800 + 100 <= 1000) but "big" was waiting first.
    assert order == ["a", "big", "small"]
    assert t == pytest.approx(60.0)


def test_cancel_waiters_middle_and_head():
    async def main(loop):
        lim = RateLimiter(1, clock=loop.time)
        order: list[str] = []
        gate = asyncio.Event()

        async def holder():
            async with lim.slot(0):
                await gate.wait()

        async def req(name):
            async with lim.slot(0):
                order.append(name)
                await asyncio.sleep(1)

        h = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        tasks = {}
        for name in "abcd":
            tasks[name] = asyncio.ensure_future(req(name))
            await asyncio.sleep(0)
        tasks["b"].cancel()  # in the middle of the queue
        tasks["a"].cancel()  # the head
        await asyncio.sleep(0)
        assert lim.stats().waiting == 2
        gate.set()
        await asyncio.gather(h, tasks["c"], tasks["d"])
        assert tasks["a"].cancelled() and tasks["b"].cancelled()
        return order, lim.stats()

    order, stats = run_virtual(main)
    assert order == ["c", "d"]
    assert stats.requests == 3 and stats.in_flight == 0 and stats.waiting == 0


def test_cancel_head_during_timed_wait_hands_over():
    async def main(loop):
        lim = RateLimiter(8, rpm=2, clock=loop.time)
        starts: dict[str, float] = {}

        async def req(name):
            async with lim.slot(0):
                starts[name] = loop.time()

        await req("x")
        await req("y")  # the window is full until t=60
        a = asyncio.ensure_future(req("a"))
        b = asyncio.ensure_future(req("b"))
        await asyncio.sleep(10)
        a.cancel()  # the head, sleeping until t=60
        await b
        with pytest.raises(asyncio.CancelledError):
            await a
        return starts, lim.stats()

    starts, stats = run_virtual(main)
    assert "a" not in starts
    assert starts["b"] == pytest.approx(60.0)
    assert stats.requests == 3 and stats.waiting == 0


def test_cancelled_inside_slot_releases_it():
    async def main(loop):
        lim = RateLimiter(1, clock=loop.time)

        async def stuck():
            async with lim.slot(0):
                await asyncio.sleep(1000)

        t = asyncio.ensure_future(stuck())
        await asyncio.sleep(1)
        assert lim.in_flight == 1
        t.cancel()
        await asyncio.sleep(0)
        assert lim.in_flight == 0
        async with lim.slot(0):
            return loop.time()

    assert run_virtual(main) == pytest.approx(1.0)


def test_exception_inside_slot_releases_it():
    async def main(loop):
        lim = RateLimiter(1, clock=loop.time)
        with pytest.raises(ValueError):
            async with lim.slot(5):
                raise ValueError("call failed")
        async with lim.slot(5):
            assert lim.in_flight == 1
        return lim.stats()

    stats = run_virtual(main)
    assert stats.requests == 2 and stats.in_flight == 0 and stats.tokens == 10


def test_stats_wait_time():
    async def main(loop):
        lim = RateLimiter(1, rpm=1, clock=loop.time)
        for _ in range(3):
            async with lim.slot(7):
                pass
        return lim.stats()

    stats = run_virtual(main)
    assert isinstance(stats, LimiterStats)
    assert stats.requests == 3 and stats.tokens == 21 and stats.waited == 2
    assert stats.wait_s == pytest.approx(120.0) and stats.max_wait_s == pytest.approx(60.0)
    assert stats.as_dict()["requests"] == 3


def test_injected_fake_clock_and_sleep():
    """The clock/sleep parameters alone (no virtual loop): sleep advances the fake clock."""
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(d):
        slept.append(d)
        now[0] += d
        assert len(slept) < 100, "the limiter keeps sleeping"

    async def main():
        lim = RateLimiter(4, rpm=2, clock=lambda: now[0], sleep=fake_sleep)
        starts = []
        for _ in range(5):
            async with lim.slot(0):
                starts.append(now[0])
        return starts

    assert asyncio.run(asyncio.wait_for(main(), 10)) == [0.0, 0.0, 60.0, 60.0, 120.0]
    assert slept == [60.0, 60.0]


def test_invalid_arguments():
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(1, rpm=0.5)
    with pytest.raises(ValueError):
        RateLimiter(1, tpm=0)
    with pytest.raises(ValueError):
        RateLimiter(1).slot(-1)


def test_overhead_is_small_on_a_real_loop():
    """Thousands of slots at C=64 with (non-binding) rpm/tpm logs: microseconds per slot."""

    async def main():
        lim = RateLimiter(64, rpm=1e9, tpm=1e12)

        async def req():
            async with lim.slot(1000) as permit:
                await asyncio.sleep(0)
                permit.record(900)

        t0 = time.process_time()
        await asyncio.wait_for(asyncio.gather(*(req() for _ in range(5000))), 20)
        return time.process_time() - t0, lim.stats()

    cpu, stats = asyncio.run(main())
    assert stats.requests == 5000 and stats.tokens == 5000 * 900
    # Includes asyncio's own task costs; the limiter's share is a few microseconds.
    assert cpu / 5000 < 0.0005
