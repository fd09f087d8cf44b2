"""Per-user limits: questions a minute, and one question in flight at a time."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["InFlight", "QuestionRateLimit"]


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
