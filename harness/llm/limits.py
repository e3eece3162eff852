"""Per-model client-side throttling: concurrency, requests per minute, tokens per minute.

litellm's Router `rpm`/`tpm` settings do not make a call wait for budget (they do nothing or fail
the call at once), so the harness throttles itself: one `RateLimiter` per model, and every attempt
(retries included) goes through `async with limiter.slot(estimated_tokens) as permit:`.

Algorithm: a **sliding-window log**. Each started request appends `(start time, tokens)` to a
deque; entries older than the window (60 s) are pruned from the left, and a running sum of their
tokens is kept, so a check is O(1) amortised. A request may start at time t only if

    in_flight < max_concurrency,
    (requests started in (t - 60, t]) + 1 <= rpm,
    (tokens of requests started in (t - 60, t]) + estimated_tokens <= tpm.

Hence over ANY 60 s window [a, a + 60) the requests started are <= rpm and their accounted tokens
are <= tpm: when the last request of that window started, every earlier one in the window was
still in its log. (A token bucket with capacity = the per-minute amount does not give this: a full
bucket emptied at t = 0 and refilled by t = 60 lets ~2x the budget through one 60 s window.)

Tokens are accounted per request at its start: the caller's estimate, replaced by the real usage
when it calls `permit.record(actual)`. A lower actual frees budget at once (the head waiter is
woken); a higher one counts against later starts, but cannot undo a start already made, so the
guarantee is exact for the accounted amounts and real usage can exceed `tpm` only by how much the
estimates were too low. One request whose estimate alone exceeds `tpm` would wait forever; it is
allowed to start alone, when no tokens at all are accounted in the window (it then fills the
window by itself, and later requests wait until it leaves it).

Waiters are served strictly FIFO: a waiting request is never overtaken, not even by a smaller one
that would fit (no starvation of large requests). Only the head of the queue waits on time: it
sleeps exactly until the oldest log entry that blocks it leaves the window (or until a slot is
released / a `record()` frees tokens, whichever matters for what blocks it); the others wait on an
asyncio future, without polling. Cancelling a waiter removes it from the queue and hands the head
position on; it holds nothing, so it releases nothing. A request cancelled inside `async with`
releases its concurrency slot (its start stays in the log: the provider saw it).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LimiterStats", "Permit", "RateLimiter"]

WINDOW_S = 60.0


class _Entry:
    """One started request in the window log (mutable: `record()` corrects its tokens)."""

    __slots__ = ("t", "tokens", "expired")

    def __init__(self, t: float, tokens: int):
        self.t = t
        self.tokens = tokens
        self.expired = False


class _Waiter:
    __slots__ = ("fut", "blocked_on")

    def __init__(self, fut: asyncio.Future[None]):
        self.fut = fut
        # What the head waiter currently waits for: "slot" (a release), "tokens" (a record() that
        # lowers usage, or time) or "time". Decides which events are worth waking it for.
        self.blocked_on = ""


@dataclass(frozen=True)
class LimiterStats:
    requests: int  # requests started (admitted)
    tokens: int  # tokens accounted: estimates, corrected by record()
    wait_s: float  # total time spent waiting for admission, over all requests
    max_wait_s: float  # longest single wait
    waited: int  # requests that had to wait at all
    in_flight: int  # now
    waiting: int  # now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Permit:
    """Handed out by `slot()`: the admitted request. `record()` corrects its token accounting."""

    __slots__ = ("_limiter", "_entry", "estimated_tokens", "tokens", "started_at", "waited_s")

    def __init__(
        self, limiter: RateLimiter, entry: _Entry | None, tokens: int, started_at: float, waited_s: float
    ):
        self._limiter = limiter
        self._entry = entry
        self.estimated_tokens = tokens
        self.tokens = tokens  # as accounted now
        self.started_at = started_at
        self.waited_s = waited_s

    def record(self, actual_tokens: int) -> None:
        """Replace this request's estimate by its real usage (may be called again; last wins)."""
        actual = int(actual_tokens)
        if actual < 0:
            raise ValueError(f"actual_tokens must be >= 0, got {actual_tokens}")
        self._limiter._record(self, actual)


class _Slot:
    __slots__ = ("_limiter", "_tokens", "_permit")

    def __init__(self, limiter: RateLimiter, tokens: int):
        self._limiter = limiter
        self._tokens = tokens
        self._permit: Permit | None = None

    async def __aenter__(self) -> Permit:
        self._permit = await self._limiter._acquire(self._tokens)
        return self._permit

    async def __aexit__(self, *exc: object) -> None:
        if self._permit is not None:
            self._permit = None
            self._limiter._release()


class RateLimiter:
    """Concurrency + sliding-window rpm/tpm limiter for one model (see the module docstring).

    `rpm`/`tpm` of None mean unlimited. `clock` and `sleep` must agree (the defaults do:
    asyncio's loop time is `time.monotonic`); tests inject a virtual clock.
    """

    def __init__(
        self,
        max_concurrency: int,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        *,
        window_s: float = WINDOW_S,
    ):
        if int(max_concurrency) < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if rpm is not None and not rpm >= 1:
            raise ValueError(f"rpm must be >= 1 (or None for no limit), got {rpm}")
        if tpm is not None and not tpm > 0:
            raise ValueError(f"tpm must be > 0 (or None for no limit), got {tpm}")
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.max_concurrency = int(max_concurrency)
        self.rpm = rpm
        self.tpm = tpm
        self.window_s = float(window_s)
        self._max_requests = math.floor(rpm) if rpm is not None else None
        self._clock = clock
        self._sleep = sleep
        self._log_enabled = rpm is not None or tpm is not None
        self._log: deque[_Entry] = deque()
        self._window_tokens = 0
        self._in_flight = 0
        self._queue: deque[_Waiter] = deque()
        # stats
        self._n_requests = 0
        self._n_tokens = 0
        self._wait_s = 0.0
        self._max_wait_s = 0.0
        self._n_waited = 0

    # ------------------------------------------------------------------ public
    def slot(self, estimated_tokens: int = 0) -> _Slot:
        """`async with limiter.slot(n) as permit:` waits for a slot for a request of ~n tokens."""
        tokens = int(estimated_tokens)
        if tokens < 0:
            raise ValueError(f"estimated_tokens must be >= 0, got {estimated_tokens}")
        return _Slot(self, tokens)

    def stats(self) -> LimiterStats:
        return LimiterStats(
            requests=self._n_requests,
            tokens=self._n_tokens,
            wait_s=self._wait_s,
            max_wait_s=self._max_wait_s,
            waited=self._n_waited,
            in_flight=self._in_flight,
            waiting=len(self._queue),
        )

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # ---------------------------------------------------------------- internals
    def _prune(self, now: float) -> None:
        log = self._log
        horizon = now - self.window_s
        while log and log[0].t <= horizon:
            e = log.popleft()
            e.expired = True
            self._window_tokens -= e.tokens

    def _blocker(self, tokens: int, now: float) -> tuple[str, float]:
        """("", 0) when a request of `tokens` may start now; else what blocks it and, for the
        time-based limits, the delay until the window has room (0 for "slot")."""
        if self._in_flight >= self.max_concurrency:
            return "slot", 0.0
        if not self._log_enabled:
            return "", 0.0
        self._prune(now)
        log = self._log
        delay = 0.0
        reason = ""
        if self._max_requests is not None and len(log) >= self._max_requests:
            # Admission keeps len(log) <= max_requests, so the oldest entry is the one to wait for.
            k = len(log) - self._max_requests
            delay = log[k].t + self.window_s - now
            reason = "time"
        if self.tpm is not None:
            used = self._window_tokens
            if used > 0 and used + tokens > self.tpm:
                # Wait until enough of the oldest entries leave the window. An oversize request
                # (tokens > tpm) needs the window empty of tokens: target = used.
                need = used + tokens - self.tpm if tokens <= self.tpm else used
                freed = 0
                t_free = now
                for e in log:
                    freed += e.tokens
                    t_free = e.t
                    if freed >= need:
                        break
                delay = max(delay, t_free + self.window_s - now)
                reason = "tokens"
        if reason:
            # Float rounding can leave a due entry a hair inside the window: never sleep 0.
            return reason, max(delay, 1e-9)
        return "", 0.0

    def _admit(self, tokens: int, now: float, waited: float) -> Permit:
        self._in_flight += 1
        entry: _Entry | None = None
        if self._log_enabled:
            entry = _Entry(now, tokens)
            self._log.append(entry)
            self._window_tokens += tokens
        self._n_requests += 1
        self._n_tokens += tokens
        if waited > 0:
            self._n_waited += 1
            self._wait_s += waited
            if waited > self._max_wait_s:
                self._max_wait_s = waited
        return Permit(self, entry, tokens, now, waited)

    def _wake_head(self, reason: str | None = None) -> None:
        if self._queue:
            head = self._queue[0]
            if (reason is None or head.blocked_on == reason) and not head.fut.done():
                head.fut.set_result(None)

    def _release(self) -> None:
        self._in_flight -= 1
        self._wake_head("slot")

    def _record(self, permit: Permit, actual: int) -> None:
        delta = actual - permit.tokens
        if delta == 0:
            return
        permit.tokens = actual
        self._n_tokens += delta
        entry = permit._entry
        if entry is not None:
            entry.tokens = actual
            if not entry.expired:
                self._window_tokens += delta
                if delta < 0:
                    self._wake_head("tokens")

    async def _acquire(self, tokens: int) -> Permit:
        now = self._clock()
        if not self._queue:
            reason, _ = self._blocker(tokens, now)
            if not reason:
                return self._admit(tokens, now, 0.0)
        loop = asyncio.get_running_loop()
        me = _Waiter(loop.create_future())
        queue = self._queue
        queue.append(me)
        started = now
        try:
            while True:
                if queue[0] is not me:
                    # Woken only when we become the head (see _wake_head after each pop).
                    await me.fut
                    me.fut = loop.create_future()
                    continue
                now = self._clock()
                reason, delay = self._blocker(tokens, now)
                if not reason:
                    queue.popleft()
                    permit = self._admit(tokens, now, now - started)
                    self._wake_head()  # the next waiter is now the head: let it check
                    return permit
                me.blocked_on = reason
                if me.fut.done():
                    me.fut = loop.create_future()
                if reason == "slot":
                    await me.fut
                else:
                    sleeper = asyncio.ensure_future(self._sleep(delay))
                    try:
                        await asyncio.wait((me.fut, sleeper), return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        if not sleeper.done():
                            sleeper.cancel()
        except BaseException:
            was_head = bool(queue) and queue[0] is me
            try:
                queue.remove(me)
            except ValueError:
                pass
            if was_head:
                self._wake_head()
            raise
