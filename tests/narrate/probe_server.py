"""A listener on 127.0.0.1 (port 0) that stands for an address only the server can reach: it
records every request's path and headers and answers everything with text that must never be
shown to a dashboard user (SECRET in a model list, in a chat reply and in an error body)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "internal-only-7f3a"


class ProbeServer:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[dict] = []  # {"method", "path", "headers"}
        self.status = status  # 200: a model list / chat reply holding SECRET; else an error body
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._answer({"object": "list", "data": [{"id": f"{SECRET}-model"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                msg = {"role": "assistant", "content": json.dumps({"text": f"{SECRET} reply"})}
                self._answer({"choices": [{"finish_reason": "stop", "message": msg}]})

            def _answer(self, ok_body: dict) -> None:
                probe.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers)}
                )
                body = ok_body if probe.status == 200 else {"error": f"{SECRET} error body"}
                data = json.dumps(body).encode()
                self.send_response(probe.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def keys_seen(self) -> list[str]:
        """The Authorization headers it received (any casing of the header name)."""
        found = [{k.lower(): v for k, v in r["headers"].items()} for r in self.requests]
        return [h["authorization"] for h in found if "authorization" in h]

    def __enter__(self) -> ProbeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
