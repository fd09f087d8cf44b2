"""Per-user limits: questions a minute, and one question in flight at a time."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["InFlight", "QuestionRateLimit", "RefusalNotices"]


class QuestionRateLimit:
    """A sliding window: at most `per_minute` questions in any 60 seconds, per user."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._asked: defaultdict[int, deque[float]] = defaultdict(deque)

    def wait_seconds(self, user_id: int) -> int:
        """0 if `user_id` may ask now (and count it); else whole seconds to wait."""
        now = self.clock()
        asked = self._asked[user_id]
        while asked and asked[0] <= now - 60:
            asked.popleft()
        if len(asked) >= self.per_minute:
            return max(1, math.ceil(asked[0] + 60 - now))
        asked.append(now)
        return 0


class InFlight:
    """Who has a question being answered right now (one each)."""

    def __init__(self) -> None:
        self._busy: set[int] = set()

    def begin(self, user_id: int) -> bool:
        """Mark `user_id` busy; False if they already were."""
        if user_id in self._busy:
            return False
        self._busy.add(user_id)
        return True

    def end(self, user_id: int) -> None:
        self._busy.discard(user_id)


class RefusalNotices:
    """At most one "busy" or "rate limited" notice per user per window.

    A flood of refused messages would otherwise get a flood of replies, and under
    Telegram's flood control other users' answers would wait behind them. The
    first refusal in a window is explained; the rest are dropped silently.
    """

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._told: dict[int, float] = {}

    def may_tell(self, user_id: int) -> bool:
        """True (and remember it) if `user_id` has not been told within the window."""
        now = self.clock()
        if len(self._told) > 10_000:  # forget users told long ago
            self._told = {u: t for u, t in self._told.items() if now - t < self.window}
        told = self._told.get(user_id)
        if told is not None and now - told < self.window:
            return False
        self._told[user_id] = now
        return True
