"""A fake Telegram Bot API server on loopback: real HTTP, checked like Telegram checks.

    api = FakeBotAPI(token).start()
    api.push(api.private_text(user, "question"))        # an update for getUpdates
    sent = await api.wait_sent(chat_id)                   # what the bot sent there
    api.fail_next("sendMessage", 429, retry_after=1)      # scripted failures
    api.calls("setMyCommands")                            # every request, parsed

It validates sent HTML (known tags, nesting) and the 4,096-character limit
(UTF-16, after parsing) the way Telegram does, and answers 400 otherwise.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.ports import LoopbackHTTPServer

BOT_ID = 777000111
BOT_USERNAME = "SanadTestBot"
_JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "link_preview_options",
    "commands",
    "allowed_updates",
    "entities",
    "scope",
}
_INT_FIELDS = {
    "chat_id",
    "message_id",
    "message_thread_id",
    "offset",
    "timeout",
    "limit",
    "draft_id",
}
_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "blockquote", "tg-spoiler", "span", "tg-emoji",
}  # fmt: skip


class _Server(LoopbackHTTPServer):
    request_queue_size = 256  # the bot opens many connections at once under load


class _TelegramHTML(HTMLParser):
    """Parses Bot API HTML as Telegram does: known tags only, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.bold: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.error = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)
        if tag in {"b", "strong"}:
            self.bold.append("")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = f'Can\'t find end tag corresponding to start tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "b" in self.stack or "strong" in self.stack:
            self.bold[-1] += data


def parse_html(markup: str) -> tuple[str, list[str], str | None]:
    """(visible text, bold runs, error or None)."""
    parser = _TelegramHTML()
    parser.feed(markup)
    parser.close()
    error = parser.error
    if error is None and parser.stack:
        error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    return "".join(parser.text), parser.bold, error


def bare(text: str) -> str:
    """`text` without bidi marks and isolates (which render invisibly)."""
    return "".join(ch for ch in text if ch not in "\u200e\u200f\u2066\u2067\u2068\u2069")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


#: A `fail_next` status: Telegram acts on the request, then the connection drops
#: before its answer arrives (so the bot cannot know the message went out).
DROP = 0


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class FakeBotAPI:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    history: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=lambda: defaultdict(list))
    admins: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1000)
        )
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- control ------------------------------------------------------------------------

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            update["update_id"] = next(self._update_ids)
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """Offer `update` again under its own id, as Telegram does with one never confirmed."""
        with self._cond:
            self.updates.append(update)
            self.updates.sort(key=lambda u: int(u["update_id"]))
            self._cond.notify_all()

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str = "",
        delay: float = 0.0,
    ) -> None:
        if status == 429 and not description:
            description = f"Too Many Requests: retry after {retry_after}"
        self.failures[method].append(Failure(status, description, retry_after, delay))

    def calls(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.history if c.method == method]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to `chat_id`, in order, as they are now (after edits)."""
        with self._cond:
            return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id]

    async def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot")
            await asyncio.sleep(0.02)

    def block_until_sent(self, chat_ids: set[int], timeout: float) -> None:
        """Block (in a thread, not the event loop) until every chat got a message."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not chat_ids <= {c for c, _ in self.messages}:
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise AssertionError("timed out waiting for the bot")

    async def settle(self, quiet: float = 0.5) -> None:
        """Wait until the bot has sent nothing for `quiet` seconds."""
        while True:
            with self._cond:
                last = max((c.at for c in self.history if c.method != "getUpdates"), default=0)
            if time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(0.05)

    async def wait_sent(
        self, chat_id: int, count: int = 1, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.sent(chat_id)) >= count, timeout)
        return self.sent(chat_id)

    # -- building updates --------------------------------------------------------------

    def user(self, user_id: int, lang: str | None = "en") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}
        if lang:
            user["language_code"] = lang
        return user

    def message(
        self, chat: dict[str, Any], user_id: int, lang: str | None = "en", **extra: Any
    ) -> dict[str, Any]:
        with self._cond:
            message_id = next(self._message_ids[chat["id"]])
        return {
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": self.user(user_id, lang),
                **extra,
            }
        }

    def private_text(self, user_id: int, text: str, lang: str | None = "en") -> dict[str, Any]:
        chat = {"id": user_id, "type": "private", "first_name": f"U{user_id}"}
        return self.message(chat, user_id, lang, text=text, **_entities(text))

    def group_text(
        self, chat_id: int, user_id: int, text: str, *, forum: bool = False, **extra: Any
    ) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": "Analysts", "is_forum": forum}
        return self.message(chat, user_id, text=text, **_entities(text), **extra)

    def edited(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """`update`'s message (or channel post) as edited to say `text`."""
        kind = "message" if "message" in update else "channel_post"
        message = {**update[kind], "text": text, "edit_date": int(time.time()), **_entities(text)}
        return {f"edited_{kind}": message}

    def channel_post(
        self, chat_id: int, text: str, *, username: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": "Newsroom"}
        if username:
            chat["username"] = username
        with self._cond:
            message_id = next(self._message_ids[chat_id])
        post = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
            **_entities(text),
            **extra,
        }
        return {"channel_post": post}

    def press(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        return {
            "callback_query": {
                "id": str(next(self._update_ids) + 10_000),
                "from": self.user(user_id),
                "chat_instance": "ci",
                "message": message,
                "data": data,
            }
        }

    # -- the HTTP side -----------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                prefix = f"/file/bot{fake.token}/"
                body = fake.files.get(path[len(prefix) :]) if path.startswith(prefix) else None
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.path.startswith("/control/"):
                    return self._reply(200, fake._control(self.path, raw))
                params = _parse(raw, self.headers.get("Content-Type", ""))
                _, _, rest = unquote(self.path).partition("/bot")
                token, _, method = rest.partition("/")
                if token != fake.token:
                    return self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                with fake._cond:
                    fake.history.append(Call(method, params, time.monotonic()))
                    planned = fake.failures[method]
                    failure = planned.pop(0) if planned else None
                if failure is not None and failure.status == DROP:
                    fake._dispatch(method, params)  # accepted and delivered…
                    self.close_connection = True  # …but the answer never comes back
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                if failure is not None:
                    if failure.delay:
                        time.sleep(failure.delay)
                    payload: dict[str, Any] = {
                        "ok": False,
                        "error_code": failure.status,
                        "description": failure.description or "Bad Request",
                    }
                    if failure.retry_after is not None:
                        payload["parameters"] = {"retry_after": failure.retry_after}
                    return self._reply(failure.status, payload)
                try:
                    result = fake._dispatch(method, params)
                except _BadRequest as e:
                    return self._reply(
                        400, {"ok": False, "error_code": 400, "description": f"Bad Request: {e}"}
                    )
                return self._reply(200, {"ok": True, "result": result})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def _control(self, path: str, raw: str) -> Any:
        """For a driver in another process (the load benchmark): push updates, read replies."""
        if path == "/control/push":
            for update in json.loads(raw):
                self.push(update)
            return {"ok": True}
        first: dict[int, float] = {}
        for call in self.calls("sendMessage"):
            first.setdefault(call.params["chat_id"], call.at)
        return {"first_replies": first, "chat_actions": len(self.calls("sendChatAction"))}

    def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Sanad",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "getUpdates":
            return self._get_updates(p)
        if method in {"sendMessage", "editMessageText"}:
            return self._store_message(method, p)
        if method == "getFile":
            path = f"documents/{p['file_id']}"
            if p["file_id"] not in self.files:
                raise _BadRequest("invalid file_id")
            self.files[path] = self.files[p["file_id"]]
            return {
                "file_id": p["file_id"],
                "file_unique_id": "u" + p["file_id"],
                "file_size": len(self.files[path]),
                "file_path": path,
            }
        if method == "getChatMember":
            user = self.user(int(p["user_id"]), None)
            if int(p["user_id"]) in self.admins[int(p["chat_id"])]:
                return {"status": "creator", "user": user, "is_anonymous": False}
            return {"status": "member", "user": user}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True  # sendChatAction, answerCallbackQuery, setMyCommands, deleteWebhook, …

    def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        wait = min(float(p.get("timeout") or 0), 0.3)
        with self._cond:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait:
                self._cond.wait(wait)
            return list(self.updates[:100])

    def _store_message(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        markup = str(p.get("text", ""))
        if p.get("parse_mode") == "HTML":
            text, bold, error = parse_html(markup)
            if error:
                raise _BadRequest(f"can't parse entities: {error}")
        else:
            text, bold = markup, []
        if not text.strip():
            raise _BadRequest("message text is empty")
        if utf16(text) > 4096:
            raise _BadRequest("message is too long")
        chat_id = p["chat_id"]
        with self._cond:
            if method == "editMessageText":
                key = (chat_id, p["message_id"])
                if key not in self.messages:
                    raise _BadRequest("message to edit not found")
                message = self.messages[key]
                message.update(
                    text=text, html=markup, bold=bold, edited=message.get("edited", 0) + 1
                )
                message["reply_markup"] = p.get("reply_markup")
                return public(message)
            message_id = next(self._message_ids[chat_id])
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "Sanad",
                    "username": BOT_USERNAME,
                },
                "text": text,
                "html": markup,
                "bold": bold,
                "reply_markup": p.get("reply_markup"),
                "message_thread_id": p.get("message_thread_id"),
                "reply_parameters": p.get("reply_parameters"),
            }
            self.messages[(chat_id, message_id)] = message
            self._cond.notify_all()
            return public(message)


class _BadRequest(Exception):
    pass


def public(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the Bot API returns it (without the test's extra fields)."""
    out = {
        k: v for k, v in message.items() if k not in {"html", "bold", "edited", "reply_parameters"}
    }
    return {k: v for k, v in out.items() if v is not None}


def _entities(text: str) -> dict[str, Any]:
    """Entities Telegram would attach: bot commands and @mentions, UTF-16 offsets."""
    entities = []
    position = 0
    for word in text.split(" "):
        if word.startswith("/") and position == 0:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16(word)})
        elif word.startswith("@") and len(word) > 1:
            entities.append(
                {"type": "mention", "offset": utf16(text[:position]), "length": utf16(word)}
            )
        position += len(word) + 1
    return {"entities": entities} if entities else {}


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return json.loads(raw or "{}")
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    for key, value in list(params.items()):
        if key in _JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in _INT_FIELDS and value.lstrip("-").isdigit():
            params[key] = int(value)
    return params


if __name__ == "__main__":  # a server in its own process: python -m tests.fake_telegram TOKEN
    import sys

    server = FakeBotAPI(sys.argv[1]).start()
    print(server.root, flush=True)
    server._thread.join()

__all__ = ["BOT_ID", "BOT_USERNAME", "FakeBotAPI", "bare", "html", "parse_html", "public", "utf16"]
