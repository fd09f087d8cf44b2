"""Reading a Telegram Desktop chat export (`result.json`) into the message log's shape.

Telegram Desktop → chat → ⋮ → Export chat history → format JSON writes one object:
`name`, `type` (`private_supergroup`, `public_supergroup`, `private_channel`, …),
`id` (the chat's id without `-100`) and `messages`, each with `id`, `type`
(`message` or `service`), `date_unixtime`, `from`, `from_id` (`user123`,
`channel456`), `text` (a string, or a list of strings and entity objects),
`reply_to_message_id` and, in forum topics, the topic's id as the reply target of
its first message. Service messages (joins, pins) and messages without text are
left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.chatlog import LoggedMessage

__all__ = ["ChatExport", "read_export"]

_SUPERGROUPS = {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}


@dataclass(frozen=True)
class ChatExport:
    chat_id: int  # as the Bot API numbers it (-100… for supergroups and channels)
    name: str
    kind: str
    messages: list[LoggedMessage]


def read_export(raw: bytes | str) -> ChatExport:
    """The export's chat and messages; ValueError with a one-line reason otherwise."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"not JSON: {e.args[0] if e.args else e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ValueError("no list of messages: export one chat's history as JSON")  # noqa: TRY004 (bad input, one reason)
    kind = str(data.get("type", ""))
    try:
        own_id = int(data["id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("the chat's id is missing") from None
    chat_id = int(f"-100{own_id}") if kind in _SUPERGROUPS else -abs(own_id)
    messages = []
    for n, item in enumerate(data["messages"], 1):
        if not isinstance(item, dict):
            raise ValueError(f"message {n} is not an object")  # noqa: TRY004 (bad input, one reason)
        if item.get("type", "message") != "message":
            continue
        text = _text(item.get("text", ""))
        if not text.strip():
            continue
        try:
            messages.append(
                LoggedMessage(
                    chat_id,
                    int(item["id"]),
                    str(item.get("from") or item.get("author") or "?"),
                    float(item["date_unixtime"]),
                    text,
                    _user_id(item.get("from_id")),
                    None,
                    int(item["reply_to_message_id"]) if item.get("reply_to_message_id") else None,
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f"message {n} lacks a usable {e.args[0] if e.args else 'field'}"
            ) from None
    return ChatExport(chat_id, str(data.get("name") or chat_id), kind, messages)


def _text(value: Any) -> str:
    """A message's text: a string, or a list of strings and `{"type", "text"}` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", ""))
            for p in value
            if isinstance(p, (str, dict))
        )
    return ""


def _user_id(value: Any) -> int | None:
    """`user123` → 123; channels and unknown authors → None."""
    if isinstance(value, str) and value.startswith("user") and value[4:].isdecimal():
        return int(value[4:])
    return None
