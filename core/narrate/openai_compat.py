"""A client for OpenAI-compatible chat-completions endpoints (Ollama, vLLM, llama.cpp's server,
hosted APIs), on the standard library only.

`base_url` is the API root that `/chat/completions` and `/models` hang from, e.g.
"http://127.0.0.1:11434/v1". Structured output is optional: the request asks for a JSON-schema
reply, and when the server refuses that (some answer 400 or 500 to `response_format`) the same
call is retried once without it. Every reply is validated; nothing partial is returned.

Errors and `ping` speak in RecLens's own words (answers / does not answer / HTTP status /
timeout / cannot connect, and whether the configured model is listed): nothing the endpoint
sends back (an error body, its list of models, a TLS peer's name) reaches a message, so a
dashboard cannot be used to read what some URL answers (issue 28).
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from core.narrate.base import REPLY_SCHEMA, BackendError, Completion, Message

MAX_REPLY_BYTES = 1_000_000
_REFUSED_SCHEMA = (400, 404, 415, 422, 500, 501)  # statuses after which we retry unstructured


class OpenAICompatBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        structured: bool = True,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"LLM base URL must be http(s)://host[:port]/..., got {base_url!r}")
        if not model:
            raise ValueError("an LLM model name is required (RECLENS_LLM_MODEL or --llm-model)")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = float(timeout)
        self.structured = structured

    def __repr__(self) -> str:  # never print the key
        return f"OpenAICompatBackend({self.base_url!r}, {self.model!r})"

    def complete(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": float(temperature),
            "max_tokens": int(max_tokens),
            "stream": False,
        }
        start = time.perf_counter()
        if self.structured:
            schema = {"name": "explanation", "schema": REPLY_SCHEMA, "strict": True}
            try:
                reply = self._post(
                    {**body, "response_format": {"type": "json_schema", "json_schema": schema}}
                )
                return _parse(reply, time.perf_counter() - start, structured=True)
            except _HTTPStatus as err:
                if err.status not in _REFUSED_SCHEMA:
                    raise BackendError("http", str(err)) from None
        try:
            reply = self._post(body)
        except _HTTPStatus as err:
            raise BackendError("http", str(err)) from None
        return _parse(reply, time.perf_counter() - start, structured=False)

    def ping(self) -> tuple[bool, str]:
        """GET /models: whether the endpoint answers, and whether it lists the configured model
        (never which models it does list)."""
        try:
            data = self._request(
                urllib.request.Request(self._url("/models"), headers=self._headers()),
                timeout=min(self.timeout, 5.0),
            )
        except (BackendError, _HTTPStatus) as err:
            return False, f"The endpoint does not answer ({err})."
        models = data.get("data") if isinstance(data.get("data"), list) else []
        ids = {m.get("id") for m in models if isinstance(m, dict)}
        if self.model in ids:
            return True, f"The endpoint answers and lists the model {self.model!r}."
        return True, f"The endpoint answers but does not list the model {self.model!r}."

    # --- transport ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _post(self, body: dict) -> dict:
        data = json.dumps(body).encode()
        req = urllib.request.Request(
            self._url("/chat/completions"), data=data, headers=self._headers(), method="POST"
        )
        return self._request(req, timeout=self.timeout)

    def _request(self, req: urllib.request.Request, timeout: float) -> dict:
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as err:
            err.close()  # its body is the remote's words: never read, never shown
            raise _HTTPStatus(err.code) from None
        except TimeoutError:
            raise BackendError("timeout", f"no reply within {timeout:g} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise BackendError("timeout", f"no reply within {timeout:g} s") from None
            raise BackendError("unavailable", _why_unreachable(err.reason)) from None
        except (ConnectionError, OSError) as err:
            raise BackendError("unavailable", _why_unreachable(err)) from None
        if len(raw) > MAX_REPLY_BYTES:
            raise BackendError("malformed", f"reply larger than {MAX_REPLY_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BackendError("malformed", "reply is not JSON") from None
        if not isinstance(data, dict):
            raise BackendError("malformed", "reply is not a JSON object")
        return data


class _HTTPStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _why_unreachable(reason: object) -> str:
    """A connection failure in our words (an OS or TLS message can quote the peer)."""
    if isinstance(reason, ssl.SSLError):
        return "cannot connect (TLS handshake failed)"
    if isinstance(reason, socket.gaierror):
        return "cannot connect (host name not resolved)"
    if isinstance(reason, ConnectionRefusedError):
        return "cannot connect (connection refused)"
    return "cannot connect"


def _parse(reply: dict, latency: float, structured: bool) -> Completion:
    """The text of a chat-completions reply, validated field by field."""
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BackendError("malformed", "reply has no choices")
    choice = choices[0]
    finish = str(choice.get("finish_reason") or "")
    if finish == "length":
        raise BackendError("truncated", "the reply was cut at max_tokens (finish_reason length)")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise BackendError("malformed", "reply has no message content")
    text, was_structured = _unwrap(content.strip(), structured)
    return Completion(text, finish, latency, was_structured, raw=reply)


def _unwrap(content: str, structured: bool) -> tuple[str, bool]:
    """{"text": "..."} -> its text. A plain-text reply is accepted only when structure was not
    asked for, or when the server ignored it (no JSON at all)."""
    if not content.startswith("{"):
        return content, False
    try:
        obj = json.loads(content)
    except json.JSONDecodeError:
        raise BackendError("malformed", "reply content is broken JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise BackendError("malformed", 'reply JSON has no string field "text"')
    if not obj["text"].strip():
        raise BackendError("malformed", 'reply JSON has an empty "text"')
    return obj["text"].strip(), structured
