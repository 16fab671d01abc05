"""Message Batches: `/v1/messages/batches` create, retrieve, list, cancel, delete and JSONL results.

How the simulated service works through a batch (figures in `data/models.yaml`, `batches:`):
- Its requests wait `queue_delay_s` after creation, then run `concurrency` at a time in request
  order, each taking the latency the Messages endpoint models for it, on the simulated clock. Nothing
  runs in the background: a batch's state is worked out whenever it is looked at, so
  `SimAPI.clock.advance()` finishes a batch at once.
- Each request is answered by the Messages endpoint itself (`messages.create`) at its scheduled start
  time: same validation, answers, usage and prompt cache. It is not subject to the Messages rate
  limits (the tier's batch queue limits batches instead). An invalid request becomes an `errored`
  result carrying the full error body; the batch itself still succeeds.
- A batch ends when every request is done, `cancel_settle_s` after a cancellation (requests already
  running finish, the others are `canceled`), or 24 hours after creation (the unfinished `expire`).
  As the docs say, counts other than `processing` stay 0 until the batch ends.
- Results come as JSON Lines from the absolute `results_url` on the host the client called, in the
  order requests finished (canceled and expired ones last, in request order): deterministic, and,
  as on the real API, not the request order.
- Usage in results says `service_tier: "batch"`, as the API's does, and `labkit.cost.price` applies
  the 50% batch discount to it.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..models import BatchLimits
from . import messages
from .wire import (
    APIError,
    SimRequest,
    SimResponse,
    error_response,
    invalid,
    rfc3339,
)

if TYPE_CHECKING:
    from .api import SimAPI

# Request headers a batch keeps to answer its requests with (never the credentials).
KEPT_HEADERS = ("anthropic-version", "anthropic-beta")
DEFAULT_PAGE = 20
MAX_PAGE = 1000


@dataclasses.dataclass
class _Item:
    custom_id: str
    params: Any
    finished_at: float | None = None
    result: dict[str, Any] | None = None  # succeeded or errored, once the request has run


@dataclasses.dataclass
class Batch:
    """One batch and its progress through the simulated service."""

    id: str
    created_at: float
    items: list[_Item]
    headers: dict[str, str]
    limits: BatchLimits
    slots: list[float] = dataclasses.field(default_factory=list)  # when each worker is next free
    started: int = 0  # requests started so far, in request order
    cancel_initiated_at: float | None = None
    ended_at: float | None = None

    def __post_init__(self) -> None:
        ready = self.created_at + self.limits.queue_delay_s
        self.slots = [ready] * max(1, min(self.limits.concurrency, len(self.items)))

    @property
    def expires_at(self) -> float:
        return self.created_at + self.limits.lifetime_s

    def advance(self, api: SimAPI, now: float) -> None:
        """Run every request whose start time has come, then see whether the batch has ended."""
        while self.ended_at is None and self.started < len(self.items):
            start = self.slots[0]
            if start > now or start >= self.expires_at or (
                    self.cancel_initiated_at is not None and start >= self.cancel_initiated_at):
                break
            item = self.items[self.started]
            item.result, latency = _run(api, self, self.started, start)
            item.finished_at = start + latency
            heapq.heapreplace(self.slots, item.finished_at)
            self.started += 1
        end = self._end_time(now)
        if self.ended_at is None and end is not None and end <= now:
            self.ended_at = end

    def _end_time(self, now: float) -> float | None:
        """When processing ends, once that is known."""
        running = [i.finished_at for i in self.items[:self.started] if i.finished_at is not None]
        last = max(running, default=self.created_at)
        if self.cancel_initiated_at is not None:
            return min(max(self.cancel_initiated_at + self.limits.cancel_settle_s, last), self.expires_at)
        if self.started == len(self.items):
            return min(last, self.expires_at)
        return self.expires_at if now >= self.expires_at else None

    def outcome(self, item: _Item) -> dict[str, Any]:
        """An item's result once the batch has ended."""
        assert self.ended_at is not None
        if item.result is not None and item.finished_at is not None and item.finished_at <= self.ended_at:
            return item.result
        if item.result is None and self.cancel_initiated_at is not None:
            return {"type": "canceled"}
        return {"type": "expired"}

    def status(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "in_progress" if self.cancel_initiated_at is None else "canceling"

    def counts(self) -> dict[str, int]:
        tally = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if self.ended_at is None:
            tally["processing"] = len(self.items)
            return tally
        for item in self.items:
            tally[self.outcome(item)["type"]] += 1
        return tally

    def body(self, origin: str) -> dict[str, Any]:
        """The MessageBatch object; `origin` is the scheme and host the client called."""
        ended = self.ended_at is not None
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status(),
            "request_counts": self.counts(),
            "ended_at": rfc3339(self.ended_at) if ended else None,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "archived_at": None,
            "cancel_initiated_at": (rfc3339(self.cancel_initiated_at)
                                    if self.cancel_initiated_at is not None else None),
            "results_url": f"{origin}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def results(self) -> bytes:
        """The results file: finished requests in finishing order, then canceled and expired ones."""
        order = sorted(range(len(self.items)), key=lambda i: self._finish_key(i))
        lines = [json.dumps({"custom_id": self.items[i].custom_id, "result": self.outcome(self.items[i])},
                            separators=(",", ":")) for i in order]
        return ("\n".join(lines) + "\n").encode()

    def _finish_key(self, index: int) -> tuple[int, float, int]:
        item = self.items[index]
        result = self.outcome(item)
        done = result["type"] in ("succeeded", "errored")
        return (0, item.finished_at or 0.0, index) if done else (1, 0.0, index)


class BatchStore:
    """Every batch of one simulated service, newest last.

    Endpoints hold `lock` (re-entrant) while they advance, read or change batches, so that parallel
    clients polling the same batch see one consistent state.
    """

    def __init__(self, limits: BatchLimits) -> None:
        self.limits = limits
        self.lock = threading.RLock()
        self._batches: dict[str, Batch] = {}
        self._created = 0

    def add(self, api: SimAPI, items: list[_Item], headers: Mapping[str, str]) -> Batch:
        with self.lock:
            now = api.clock.timestamp()
            self._check_queue(api, len(items), now)
            self._created += 1
            batch = Batch(id=api.new_id("msgbatch", self._created), created_at=now, items=items,
                          headers={k: headers[k] for k in KEPT_HEADERS if k in headers},
                          limits=self.limits)
            self._batches[batch.id] = batch
            return batch

    def get(self, api: SimAPI, batch_id: str) -> Batch:
        with self.lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                raise APIError(404, f"message_batch_id: batch {batch_id!r} not found")
            batch.advance(api, api.clock.timestamp())
            return batch

    def newest_first(self, api: SimAPI) -> list[Batch]:
        with self.lock:
            now = api.clock.timestamp()
            for batch in self._batches.values():
                batch.advance(api, now)
            return list(reversed(self._batches.values()))

    def remove(self, batch_id: str) -> None:
        with self.lock:
            del self._batches[batch_id]

    def _check_queue(self, api: SimAPI, adding: int, now: float) -> None:
        """The tier's limit on batch requests waiting at once (429, as for other rate limits)."""
        queue = api.limits.tier.batch_queue_requests
        if queue is None:
            return
        for batch in self._batches.values():
            batch.advance(api, now)
        waiting = sum(len(b.items) for b in self._batches.values() if b.ended_at is None)
        if waiting + adding > queue:
            raise APIError(429, f"This batch would exceed your organization's limit of {queue:,} batch "
                                f"requests in the processing queue (simulated {api.limits.tier.name}); "
                                f"{waiting:,} are waiting.")


def _run(api: SimAPI, batch: Batch, index: int, start: float) -> tuple[dict[str, Any], float]:
    """Answer one batch request through the Messages endpoint at its start time: (result, latency)."""
    item = batch.items[index]
    request_id = api.new_id("req", batch.id, index)
    try:
        if isinstance(item.params, Mapping) and item.params.get("stream"):
            raise invalid("stream: batch requests cannot be streamed")
        if isinstance(item.params, Mapping) and item.params.get("max_tokens") == 0:
            raise invalid("max_tokens: pre-warming the cache (max_tokens 0) is not available in batches")
        with api.clock.pinned(start), api.limits.exempt():
            response = messages.create(api, item.params, batch.headers, request_id)
    except APIError as error:
        return {"type": "errored", "error": error_response(error, request_id).body}, 0.0
    message = response.body
    message["usage"]["service_tier"] = "batch"  # what the API reports, and what prices the discount
    return {"type": "succeeded", "message": message}, response.latency


# --- endpoints -------------------------------------------------------------------------------------

def create(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    limits = api.batches.limits
    if len(request.body) > limits.max_bytes:
        raise APIError(413, "Request exceeds the maximum allowed number of bytes.")
    try:
        body = request.json()
    except ValueError:
        raise invalid("request body is not valid JSON") from None
    items = _items(body, limits)
    with api.batches.lock:
        batch = api.batches.add(api, items, request.headers)
        return _ok(batch.body(_origin(request)), request_id)


def retrieve(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    with api.batches.lock:
        return _ok(api.batches.get(api, match["batch_id"]).body(_origin(request)), request_id)


def list_batches(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    """A page, newest first: `after_id` pages towards older batches, `before_id` towards newer ones."""
    limit = _page_size(request.query.get("limit"))
    before, after = request.query.get("before_id"), request.query.get("after_id")
    with api.batches.lock:
        order = api.batches.newest_first(api)
        ids = [b.id for b in order]
        if before is not None:
            end = _position(ids, before)
            page, more = order[max(0, end - limit):end], end - limit > 0
        elif after is not None:
            begin = _position(ids, after) + 1
            page, more = order[begin:begin + limit], begin + limit < len(order)
        else:
            page, more = order[:limit], limit < len(order)
        data = [b.body(_origin(request)) for b in page]
    return _ok({"data": data, "has_more": more, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}, request_id)


def cancel(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    with api.batches.lock:
        batch = api.batches.get(api, match["batch_id"])
        if batch.ended_at is not None:
            raise invalid(f"Message Batch {batch.id} has already ended and cannot be canceled.")
        if batch.cancel_initiated_at is None:
            batch.cancel_initiated_at = api.clock.timestamp()
        return _ok(batch.body(_origin(request)), request_id)


def delete(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    with api.batches.lock:
        batch = api.batches.get(api, match["batch_id"])
        if batch.ended_at is None:
            raise invalid(f"Message Batch {batch.id} is still processing: cancel it and let it end "
                          "before deleting it.")
        api.batches.remove(batch.id)
    return _ok({"id": batch.id, "type": "message_batch_deleted"}, request_id)


def results(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    with api.batches.lock:
        batch = api.batches.get(api, match["batch_id"])
        if batch.ended_at is None:
            raise invalid(f"Message Batch {batch.id} has not finished processing: results are "
                          "available once processing_status is 'ended'.")
        lines = batch.results()
    return SimResponse(status=200, raw=lines,
                       headers={"request-id": request_id, "content-type": "application/x-jsonl"})


ROUTES = [
    ("POST", re.compile(r"/v1/messages/batches"), create),
    ("GET", re.compile(r"/v1/messages/batches"), list_batches),
    ("GET", re.compile(r"/v1/messages/batches/(?P<batch_id>[^/]+)"), retrieve),
    ("DELETE", re.compile(r"/v1/messages/batches/(?P<batch_id>[^/]+)"), delete),
    ("POST", re.compile(r"/v1/messages/batches/(?P<batch_id>[^/]+)/cancel"), cancel),
    ("GET", re.compile(r"/v1/messages/batches/(?P<batch_id>[^/]+)/results"), results),
]


def _items(body: Any, limits: BatchLimits) -> list[_Item]:
    """The batch's requests; a malformed list fails the whole batch, malformed params do not."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise invalid("requests: Field required (a list of {custom_id, params})")
    requests = body["requests"]
    if not requests:
        raise invalid("requests: a batch needs at least one request")
    if len(requests) > limits.max_requests:
        raise invalid(f"requests: a batch holds at most {limits.max_requests:,} requests, "
                      f"got {len(requests):,}")
    seen: set[str] = set()
    items = []
    for i, entry in enumerate(requests):
        if not isinstance(entry, dict) or "params" not in entry:
            raise invalid(f"requests.{i}: each request needs custom_id and params")
        custom_id = entry.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise invalid(f"requests.{i}.custom_id: Input should be a non-empty string")
        if custom_id in seen:
            raise invalid(f"requests.{i}.custom_id: {custom_id!r} is used twice; custom_id values must "
                          "be unique within a batch")
        seen.add(custom_id)
        items.append(_Item(custom_id, entry["params"]))
    return items


def _page_size(raw: str | None) -> int:
    try:
        limit = DEFAULT_PAGE if raw is None else int(raw)
    except ValueError:
        raise invalid(f"limit: Input should be a valid integer, got {raw!r}") from None
    if not 1 <= limit <= MAX_PAGE:
        raise invalid(f"limit: Input should be between 1 and {MAX_PAGE}")
    return limit


def _position(ids: list[str], batch_id: str) -> int:
    try:
        return ids.index(batch_id)
    except ValueError:
        raise invalid(f"no message batch {batch_id!r} to page from") from None


def _origin(request: SimRequest) -> str:
    """The scheme and host the client called, so that `results_url` leads back to this simulator."""
    host = request.headers.get("host")
    return f"http://{host}" if host else ""


def _ok(body: Any, request_id: str) -> SimResponse:
    return SimResponse(status=200, body=body, headers={"request-id": request_id,
                                                       "content-type": "application/json"})
