"""A scripted OpenAI-compatible server on 127.0.0.1 (port 0) for tests: each POST to
/v1/chat/completions takes the next reply from a script and records the request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: dict | str = field(default_factory=dict)  # a dict is sent as JSON, a str as is
    delay: float = 0.0


def chat(text: str, finish: str = "stop", structured: bool = True) -> Reply:
    content = json.dumps({"text": text}) if structured else text
    return Reply(body={
        "id": "x", "object": "chat.completion", "model": "fake",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content}}],
    })  # fmt: skip


Script = Callable[[dict], Reply]


class FakeServer:
    def __init__(self, script: list[Reply] | Script) -> None:
        self.requests: list[dict] = []  # {"path", "headers", "json"}
        self._script = script
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                self._send(Reply(body={"object": "list", "data": [{"id": "fake"}]}))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                server.requests.append(req)
                self._send(server._next(req["json"]))

            def _send(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data.encode())))
                    self.end_headers()
                    self.wfile.write(data.encode())
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _next(self, body: dict) -> Reply:
        if callable(self._script):
            return self._script(body)
        if not self._script:
            return Reply(500, {"error": "script exhausted"})
        return self._script.pop(0)

    @property
    def posts(self) -> list[dict]:
        return [r for r in self.requests if "json" in r]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
