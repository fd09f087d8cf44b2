"""Bot replicas as real processes: `sanad run` in webhook mode on a shared database,
for the replica tests and the replica benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.bot_harness import TOKEN
from tests.fake_telegram import FakeBotAPI
from tests.ports import free_port

SECRET = "replica-shared-secret"


class Replica:
    def __init__(self, process: subprocess.Popen[str], port: int, ops: int) -> None:
        self.process, self.port, self.ops = process, port, ops
        self.log = ""  # what it wrote to stderr, once it has stopped

    def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/hook",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ops}{path}", timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as e:
            return int(e.code), e.read().decode()
        except OSError:
            return 0, ""


def start_replica(api: FakeBotAPI, folder: Path, url: str | None, env: dict[str, str]) -> Replica:
    """`sanad run` on `folder` (its own data dir) and, unless None, the database `url`."""
    port, ops = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "TELEGRAM_"))},
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.root,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "TELEGRAM_WEBHOOK_PORT": str(port),
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            **({"SANAD_DATABASE_URL": url} if url else {}),
            "SANAD_DATA_DIR": str(folder),  # no disk shared with the other replica
            "SANAD_CORPUS_DIR": str(folder / "no-corpus-here"),
            "SANAD_EMBEDDING_MODEL": "none",
            "SANAD_OPS_PORT": str(ops),
            "SANAD_REPLICA_BEAT_SECONDS": "0.5",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Replica(process, port, ops)


def wait_ready(replicas: list[Replica], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for r in replicas:
        while r.get("/readyz")[0] != 200:
            if r.process.poll() is not None:
                raise AssertionError(r.process.communicate()[1])
            assert time.monotonic() < deadline, r.get("/readyz")
            time.sleep(0.1)
