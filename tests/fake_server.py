"""A misbehaving OpenAI-compatible chat server on 127.0.0.1, for model-fault tests over real HTTP.

Each request to `/v1/chat/completions` takes the next behaviour from `script` (the last one repeats):
"ok", "429" (with Retry-After), "500", "hang", "garbage", "empty", "no_choices", "stream_cut".
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "Long videos need long benchmarks [@Key2024]."


class FakeServer:
    """`with FakeServer(["500", "ok"]) as server:` then point the client at `server.api_base`."""

    def __init__(self, script: list[str], retry_after: float = 1.0, hang: float = 30.0) -> None:
        self.script = list(script)
        self.retry_after, self.hang = retry_after, hang
        self.requests: list[dict[str, Any]] = []  # request bodies, with the time each arrived
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeServer":
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append({**body, "at": time.monotonic()})
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                behaviour = server._next(body)
                if behaviour == "hang":
                    time.sleep(server.hang)
                    return
                if behaviour in ("429", "500"):
                    headers = {"Retry-After": f"{server.retry_after:g}"} if behaviour == "429" else {}
                    return self._send(int(behaviour), {"error": {"message": f"fake {behaviour}", "type": "server_error"}}, headers)
                if behaviour == "garbage":
                    return self._raw(200, b"<html>\x00\x01 not json at all", "text/html")
                if body.get("stream"):
                    return self._stream(behaviour)
                message = {"role": "assistant", "content": "" if behaviour == "empty" else REPLY}
                choices = [] if behaviour == "no_choices" else [{"index": 0, "message": message, "finish_reason": "stop"}]
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
                                 "choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}})

            def _stream(self, behaviour: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                words = [] if behaviour == "empty" else REPLY.split(" ")
                cut = behaviour == "stream_cut"
                for n, word in enumerate(words[:2] if cut else words):
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                             "choices": [{"index": 0, "delta": {"content": word + (" " if n < len(words) - 1 else "")},
                                          "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                if cut:  # the connection drops mid-reply: no finish_reason, no [DONE]
                    self.close_connection = True
                    return
                last = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _raw(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
