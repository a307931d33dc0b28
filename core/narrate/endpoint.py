"""Which endpoints the server's language-model client may talk to, and with which key.

A key from the environment (RECLENS_LLM_API_KEY) belongs to the endpoint from the environment
(RECLENS_LLM_BASE_URL): `LLMSettings` keeps it only while its base URL is that endpoint, so a URL
typed in a browser session or on a command line never receives it (issue 28).

RECLENS_LLM_ALLOWED_URLS, when set, is a comma-separated list of API roots
(e.g. "http://127.0.0.1:11434/v1,https://llm.internal/v1"); a URL is allowed when it equals one
of them after `normalise_url`. The environment's own RECLENS_LLM_BASE_URL is always allowed.
Any other URL is refused before a request is made.
"""

from __future__ import annotations

import urllib.parse

_DEFAULT_PORTS = {"http": 80, "https": 443}


class EndpointRefused(ValueError):
    """A URL that the server's configuration does not let this client call."""


def normalise_url(url: str) -> str:
    """The canonical form of an API root: scheme and host lower-cased, the default port and a
    trailing slash dropped. Raises EndpointRefused for anything but http(s)://host[:port]/path
    (no user name or password, query or fragment)."""
    raw = url.strip()
    try:
        parts = urllib.parse.urlsplit(raw)
        port = parts.port
    except ValueError:
        raise EndpointRefused(f"LLM endpoint is not a valid URL: {raw!r}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise EndpointRefused(f"LLM endpoint must be http(s)://host[:port]/..., got {raw!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise EndpointRefused(
            f"LLM endpoint must not carry a user, password, query or fragment, got {raw!r}"
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host  # IPv6 literal
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def same_endpoint(a: str, b: str) -> bool:
    """Whether two URLs name the same API root (False when either is empty or invalid)."""
    try:
        return bool(a and b) and normalise_url(a) == normalise_url(b)
    except EndpointRefused:
        return False


def parse_allowed(raw: str) -> tuple[str, ...]:
    """RECLENS_LLM_ALLOWED_URLS -> normalised API roots; an invalid entry is an error naming it."""
    out = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        try:
            out.append(normalise_url(entry))
        except EndpointRefused as err:
            raise ValueError(f"RECLENS_LLM_ALLOWED_URLS: {err}") from None
    return tuple(out)


def check_allowed(url: str, allowed: tuple[str, ...], configured: str = "") -> None:
    """Raise EndpointRefused unless `url` is allowed: no list means any http(s) URL; with a list,
    `url` must be on it or be the server's `configured` endpoint."""
    canon = normalise_url(url)
    if not allowed or canon in allowed or same_endpoint(url, configured):
        return
    raise EndpointRefused(
        f"LLM endpoint {canon} is not allowed on this server "
        "(RECLENS_LLM_ALLOWED_URLS lists the endpoints it may use)"
    )
