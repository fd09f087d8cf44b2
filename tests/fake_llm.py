"""A scripted OpenAI-compatible chat server on loopback: real HTTP, no mocks.

server.enqueue("An answer [1].")          # next reply
server.enqueue(status=500)                 # next request fails
server.enqueue("late", delay=2.0)          # next reply comes after 2 s
server.history                             # request bodies received, in order
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.ports import LoopbackHTTPServer


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay: float = 0.0
    step: float = 0.0  # seconds between streamed chunks


class FakeLLMServer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.history: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = LoopbackHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(
        self, content: str = "", *, status: int = 200, delay: float = 0.0, step: float = 0.0
    ) -> None:
        self.replies.append(Reply(content, status, delay, step))

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def messages(self, i: int = -1) -> list[dict[str, Any]]:
        return list(self.history[i]["messages"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.history.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = fake.replies.popleft() if fake.replies else Reply("NO_ANSWER")
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status == 200 and body.get("stream"):
                    return self._stream(reply, body)
                if reply.status != 200:
                    payload = {"error": {"message": "scripted failure", "type": "server_error"}}
                else:
                    payload = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                """Server-sent events, a few words a chunk, `reply.step` seconds apart."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = reply.content.split(" ")
                pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]
                for piece in [*pieces, None]:
                    delta = {"content": piece} if piece is not None else {}
                    event = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "delta": delta,
                                "finish_reason": None if piece is not None else "stop",
                            }
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(reply.step)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler
