"""Per-user limits: questions a minute, one question in flight at a time, summaries per
user and per chat."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["InFlight", "QuestionRateLimit", "RefusalNotices", "SlidingWindow", "SummaryLimits"]


class SlidingWindow:
    """At most `limit` events in any `seconds`, per key."""

    def __init__(
        self, limit: int, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._seen: defaultdict[int, deque[float]] = defaultdict(deque)

    def wait(self, key: int) -> int:
        """Whole seconds until `key` may have one more (0: now), without counting one."""
        now = self.clock()
        seen = self._seen[key]
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.limit:
            return max(1, math.ceil(seen[0] + self.seconds - now))
        return 0

    def count(self, key: int) -> None:
        self._seen[key].append(self.clock())

    def wait_seconds(self, key: int) -> int:
        """0 if `key` may have one more now (and count it); else whole seconds to wait."""
        wait = self.wait(key)
        if not wait:
            self.count(key)
        return wait


class QuestionRateLimit(SlidingWindow):
    """At most `per_minute` questions in any 60 seconds, per user."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(per_minute, 60.0, clock)


class SummaryLimits:
    """At most `per_user` summaries per user and `per_chat` per chat in any 10 minutes."""

    def __init__(
        self, per_user: int, per_chat: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.users = SlidingWindow(per_user, 600.0, clock)
        self.chats = SlidingWindow(per_chat, 600.0, clock)

    def wait_seconds(self, user_id: int, chat_id: int) -> int:
        """0 if one more summary may be made now (and count it); else seconds to wait."""
        wait = max(self.users.wait(user_id), self.chats.wait(chat_id))
        if not wait:
            self.users.count(user_id)
            self.chats.count(chat_id)
        return wait


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
