"""Settings: every field documented, invalid values named, blanks mean unset."""

import re
from pathlib import Path

import pytest

from retrieval.config import Settings, load_settings
from retrieval.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_env_example():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(SANAD_[A-Z_]+)=", text, flags=re.M))
    fields = {f"SANAD_{name.upper()}" for name in Settings.model_fields}
    assert fields <= documented, f"undocumented: {sorted(fields - documented)}"


def test_env_example_values_are_valid(monkeypatch):
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name, value in re.findall(r"^(SANAD_[A-Z_]+)=(.*)$", text, flags=re.M):
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.embedding_model == "intfloat/multilingual-e5-small"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SANAD_CHROMA_PORT", "99999"),
        ("SANAD_EMBEDDING_BATCH_SIZE", "0"),
        ("SANAD_LOG_LEVEL", "LOUD"),
        ("SANAD_EMBEDDING_MODEL", "  "),
    ],
)
def test_invalid_value_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_chunk_bounds_must_be_ordered(monkeypatch):
    monkeypatch.setenv("SANAD_CHUNK_MIN_TOKENS", "400")
    monkeypatch.setenv("SANAD_CHUNK_MAX_TOKENS", "300")
    with pytest.raises(ConfigError, match="SANAD_CHUNK_MIN_TOKENS"):
        load_settings()


def test_dotenv_file_is_read_and_blank_host_means_embedded(monkeypatch):
    monkeypatch.delenv("SANAD_EMBEDDING_MODEL")
    Path(".env").write_text("SANAD_EMBEDDING_MODEL=none\nSANAD_CHROMA_HOST=\n", encoding="utf-8")
    settings = load_settings()
    assert not settings.dense_enabled
    assert not settings.server_mode
