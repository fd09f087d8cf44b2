"""What a load balancer and monitoring read from a running bot, on `SANAD_OPS_PORT`.

    GET /healthz   200 while the process's event loop answers (liveness)
    GET /readyz    200 once the index is loaded, the database answers and updates are
                   being received; 503 with the reason otherwise (readiness)
    GET /metrics   Prometheus text: answers by outcome, answer latency, errors,
                   Telegram 429s, updates received

A port of its own, apart from the webhook's: the webhook server is
python-telegram-bot's, and probes should not need the webhook's secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from telegram.ext import Application

__all__ = ["Metrics", "OpsServer"]

log = logging.getLogger(__name__)


@dataclass
class Metrics:
    """The bot's counters, in a registry of its own (one per application)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.answers = Counter(
            "sanad_answers", "Questions answered, by outcome.", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "sanad_answer_seconds",
            "Seconds from question to verified answer.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.errors = Counter("sanad_errors", "Updates whose handling failed.", registry=r)
        self.telegram_429 = Counter(
            "sanad_telegram_429", "Telegram flood-control refusals (429), retried.", registry=r
        )
        self.updates = Counter("sanad_updates", "Updates received from Telegram.", registry=r)
        # PTB's AIORateLimiter retries a 429 itself and logs it; that log line is the count.
        logging.getLogger("telegram.ext.AIORateLimiter").addFilter(self._count_429)

    def answered(self, *, declined: bool, seconds: float) -> None:
        self.answers.labels("declined" if declined else "answered").inc()
        self.latency.observe(seconds)

    def _count_429(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Rate limit hit"):
            self.telegram_429.inc()
        return True

    def close(self) -> None:
        logging.getLogger("telegram.ext.AIORateLimiter").removeFilter(self._count_429)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok\n")


class _Ready(tornado.web.RequestHandler):
    def initialize(self, app: Application) -> None:
        self.app = app

    async def get(self) -> None:
        problems = await _not_ready(self.app)
        self.set_status(503 if problems else 200)
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"ready": not problems, "problems": problems}))


class _Metrics(tornado.web.RequestHandler):
    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(self.metrics.text())


async def _not_ready(app: Application) -> list[str]:
    services: Any = app.bot_data["sanad"]
    problems = []
    if not app.running or app.updater is None or not app.updater.running:
        problems.append("not receiving updates yet")
    if not services.conversation.answerer.index.loaded:
        problems.append("index not loaded yet")
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, services.conversation.store), 5)
    except Exception as e:  # noqa: BLE001 (any failure means: not ready, and why)
        problems.append(f"database: {type(e).__name__}")
    return problems


def _ping(store: Any) -> None:
    with store.transaction() as cur:
        cur.execute("SELECT 1").fetchone()


class OpsServer:
    """The /healthz, /readyz and /metrics server of one application."""

    def __init__(self, app: Application, metrics: Metrics, listen: str, port: int) -> None:
        web = tornado.web.Application(
            [
                (r"/healthz", _Health),
                (r"/readyz", _Ready, {"app": app}),
                (r"/metrics", _Metrics, {"metrics": metrics}),
            ]
        )
        self._server = tornado.httpserver.HTTPServer(web)
        self.listen, self.port = listen, port

    def start(self) -> None:
        self._server.listen(self.port, address=self.listen)
        log.warning("Health, readiness and metrics on http://%s:%d", self.listen, self.port)

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
