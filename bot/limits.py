"""Per-user limits: questions a minute, one question in flight at a time, summaries per
user and per chat. They are kept in the chat store, so they hold across bot replicas
that share one PostgreSQL database (and across restarts of one process)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot.storage import ChatStore

__all__ = ["InFlight", "QuestionRateLimit", "RefusalNotices", "SlidingWindow", "SummaryLimits"]


class SlidingWindow:
    """At most `limit` events in any `seconds`, per key, counted in the chat store, so
    that every bot replica sharing one database sees the same count."""

    def __init__(
        self,
        store: ChatStore,
        kind: str,
        limit: int,
        seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.kind = kind
        self.limit = limit
        self.seconds = seconds
        self.clock = clock

    def admit(self, key: int) -> int:
        """0 if `key` may have one more now (and count it); else whole seconds to wait."""
        return _admit(self.store, [(self, key)], self.clock())


def _admit(store: ChatStore, rules: list[tuple[SlidingWindow, int]], now: float) -> int:
    """0 if every (window, key) may have one more now, and count one for each; else
    whole seconds until all may. One transaction under a lock per (window, key), so two
    replicas cannot both take the last place."""
    names = [f"limits:{window.kind}={key}" for window, key in rules]
    with store.exclusive_transaction(*names) as cur:
        wait = 0
        for window, key in rules:
            cur.execute(
                "DELETE FROM limit_events WHERE kind = ? AND key = ? AND at <= ?",
                (window.kind, key, now - window.seconds),
            )
            count, first = cur.execute(
                "SELECT COUNT(*), MIN(at) FROM limit_events WHERE kind = ? AND key = ?",
                (window.kind, key),
            ).fetchone()
            if int(count) >= window.limit:
                wait = max(wait, 1, math.ceil(float(first) + window.seconds - now))
        if not wait:
            cur.executemany(
                "INSERT INTO limit_events (kind, key, at) VALUES (?, ?, ?)",
                [(window.kind, key, now) for window, key in rules],
            )
    return wait


class QuestionRateLimit(SlidingWindow):
    """At most `per_minute` questions in any 60 seconds, per user."""

    def __init__(
        self, store: ChatStore, per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(store, "question", per_minute, 60.0, clock)

    def wait_seconds(self, user_id: int) -> int:
        """0 if `user_id` may ask one more now (and count it); else whole seconds to wait."""
        return self.admit(user_id)


class SummaryLimits:
    """At most `per_user` summaries per user and `per_chat` per chat in any 10 minutes."""

    def __init__(
        self,
        store: ChatStore,
        per_user: int,
        per_chat: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = SlidingWindow(store, "summary_user", per_user, 600.0, clock)
        self.chats = SlidingWindow(store, "summary_chat", per_chat, 600.0, clock)

    def wait_seconds(self, user_id: int, chat_id: int) -> int:
        """0 if one more summary may be made now (and count it); else seconds to wait."""
        return _admit(
            self.users.store, [(self.users, user_id), (self.chats, chat_id)], self.users.clock()
        )


class InFlight:
    """Who has a question being answered right now (one each), in the chat store, so it
    holds across replicas. A mark older than `stale_after` seconds (its replica died
    mid-answer) no longer counts."""

    def __init__(
        self, store: ChatStore, stale_after: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.stale_after = stale_after
        self.clock = clock

    def begin(self, user_id: int) -> bool:
        """Mark `user_id` busy; False if they already were."""
        now = self.clock()
        with self.store.transaction() as cur:
            taken = cur.execute(
                "INSERT INTO in_flight (user_id, started) VALUES (?, ?) ON CONFLICT (user_id) "
                "DO UPDATE SET started = excluded.started WHERE in_flight.started < ?",
                (user_id, now, now - self.stale_after),
            ).rowcount
        return taken == 1

    def end(self, user_id: int) -> None:
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM in_flight WHERE user_id = ?", (user_id,))

    def forget_all(self) -> None:
        """At the start of a lone process: every mark is from its last life."""
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM in_flight")


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
