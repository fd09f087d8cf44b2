"""The deployment files (compose.yaml, deploy/Caddyfile, Dockerfile) agree with the code:
Docker is not available here, so what can drift is checked without running them."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import BotSettings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _variables() -> set[str]:
    names = set()
    for name, field in BotSettings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"SANAD_{name.upper()}")
    return names


def test_every_variable_compose_sets_for_sanad_is_a_real_setting():
    services = _compose()["services"]
    for service in ("ingest", "replica"):
        environment = services[service]["environment"]
        ours = {k for k in environment if k.startswith(("SANAD_", "TELEGRAM_"))}
        assert ours, service
        assert ours <= _variables(), ours - _variables()
        assert environment["SANAD_DATABASE_URL"].startswith("postgresql://")


def test_the_proxy_the_health_check_and_the_replicas_agree_on_ports_and_path():
    env = _compose()["services"]["replica"]["environment"]
    caddy = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    path = urlsplit(env["TELEGRAM_WEBHOOK_URL"].replace("${SANAD_DOMAIN:?set SANAD_DOMAIN}", "x"))
    assert f"handle {path.path} {{" in caddy  # Telegram posts where the replicas listen
    assert f"reverse_proxy replica:{env['TELEGRAM_WEBHOOK_PORT']}" in caddy
    assert f"health_port {env['SANAD_OPS_PORT']}" in caddy
    check = " ".join(_compose()["services"]["replica"]["healthcheck"]["test"])
    assert f"127.0.0.1:{env['SANAD_OPS_PORT']}/readyz" in check
    assert env["TELEGRAM_WEBHOOK_LISTEN"] == env["SANAD_OPS_LISTEN"] == "0.0.0.0"


def test_the_chroma_server_image_is_pinned_to_the_client_s_major_version():
    image = _compose()["services"]["chroma"]["image"]
    name, tag = image.split(":")
    assert name == "chromadb/chroma"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), "pin an exact server version"
    assert tag.split(".")[0] == version("chromadb").split(".")[0]


def test_the_image_installs_the_cpu_torch_the_project_pins():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    pinned = re.search(r"torch==([\d.]+)", setup)
    assert pinned is not None
    assert f"torch=={pinned.group(1)}" in dockerfile
    assert "whl/cpu" in dockerfile
