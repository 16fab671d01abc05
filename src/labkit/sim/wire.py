"""What crosses the simulated wire: requests, responses, API errors and identifiers.

Kept free of any HTTP library so that the same core serves the in-process httpx2 transport and the
localhost HTTP server.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

_BASE64_TO_62 = str.maketrans("+/", "Pq")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclasses.dataclass(frozen=True)
class SimRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclasses.dataclass(frozen=True)
class Event:
    """One server-sent event, released `at` modelled seconds after the request arrived."""

    name: str
    data: Mapping[str, Any]
    at: float

    def encode(self) -> bytes:
        return f"event: {self.name}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n".encode()


def rfc3339(instant: float) -> str:
    """An instant as the API writes timestamps: RFC 3339 in UTC with a `Z`."""
    moment = datetime.datetime.fromtimestamp(instant, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def retry_headers(seconds: float, *, whole: bool = True) -> dict[str, str]:
    """`retry-after` telling a client to wait `seconds` of the service's time before retrying.

    Whole seconds, rounded up, as the real API sends them (reference §1.4); `whole=False` keeps
    milliseconds (the SDK reads a decimal too), for advice the real API may not give at all. The
    value is honest: offline, a labkit client's retry sleep is a simulated wait, so waiting it costs
    no real time (docs/simulator.md, "Time")."""
    value = f"{max(1, math.ceil(seconds - 1e-9))}" if whole else f"{max(0.001, seconds):.3f}"
    return {"retry-after": value}


@dataclasses.dataclass
class SimResponse:
    """A response and how long the real API would take to produce it.

    `body` is JSON-able for ordinary responses; `events` is set instead for a stream. `latency` is
    modelled seconds until the whole response is available.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    latency: float = 0.0
    events: list[Event] | None = None
    raw: bytes | None = None

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode()

    def stream(self) -> Iterator[Event]:
        return iter(self.events or ())


class APIError(Exception):
    """An error the API answers with: turned into the real error body by `error_response`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None,
                 error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")


def invalid(message: str) -> APIError:
    return APIError(400, message)


def error_response(error: APIError, request_id: str) -> SimResponse:
    body = {"type": "error", "error": {"type": error.error_type, "message": error.message},
            "request_id": request_id}
    headers = {"request-id": request_id, "content-type": "application/json", **error.headers}
    return SimResponse(status=error.status, body=body, headers=headers)


def make_id(prefix: str, *parts: Any) -> str:
    """A deterministic identifier shaped like the API's: prefix + `01` + 22 base62 characters.

    The hash is base64-encoded and its two non-base62 symbols mapped onto letters: not perfectly
    uniform (ids are never parsed), but cheap on the request path, where a response needs several."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=17).digest()
    return f"{prefix}_01{base64.b64encode(digest)[:22].decode().translate(_BASE64_TO_62)}"
