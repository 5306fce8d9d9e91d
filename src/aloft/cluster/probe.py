"""JSON over HTTP with short timeouts, for the REST endpoints we poll (Patroni, etcd, /readyz).

A probe never raises for a server that is down, frozen or answers garbage: it returns None
for "no answer", so status collection keeps going when a zone is gone.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# Never through a proxy from the environment: every address we probe is on this machine.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the text when the body is not JSON


def request(
    url: str,
    method: str = "GET",
    payload: Any = None,
    timeout: float = 1.0,
    auth: tuple[str, str] | None = None,
) -> Answer | None:
    """One request; None if the server could not be reached or did not answer in time."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, ValueError):
        return None
    text = raw.decode(errors="replace")
    try:
        return Answer(status, json.loads(text))
    except ValueError:
        return Answer(status, text)


def get_json(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The JSON object at `url` whatever the status code (Patroni answers 503 with a body for
    a replica's /primary, for one), or None."""
    answer = request(url, timeout=timeout)
    if answer is None or not isinstance(answer.body, dict):
        return None
    return answer.body
