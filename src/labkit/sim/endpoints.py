"""The small endpoints: token counting and the model catalogue.

- `POST /v1/messages/count_tokens` -> `{"input_tokens": N}`: the Messages checks without `max_tokens`
  (version rules included), and the count `usage` would report for the same request (reference §5).
- `GET /v1/models` -> a page `{data, has_more, first_id, last_id}` of ModelInfo, newest first, with
  `limit` (1-1000, default 20) and `after_id`/`before_id` cursors; `GET /v1/models/{id}` -> one
  ModelInfo, or 404 (reference §9.4). `created_at` is the profile's `released` date, read as the first
  day of the month or year when only that much is published.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from ..models import ModelProfile
from . import counting, thinking, tools, validation
from .wire import APIError, SimRequest, SimResponse, invalid

if TYPE_CHECKING:
    from .api import SimAPI

DEFAULT_PAGE = 20
MAX_PAGE = 1000


def count_tokens(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    params = validation.parse(request)
    validation.check_body(params, request.headers.get("anthropic-version", validation.LATEST), counting=True)
    tools.check(params)
    profile = api.profile(params["model"])
    thinking.resolve(params, profile, counting=True)
    return _json({"input_tokens": counting.request_tokens(params, profile.tokenizer_ratio)}, request_id)


def list_models(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    ordered = _newest_first(api)
    ids = [p.id for p in ordered]
    limit = _limit(request.query.get("limit"))
    after, before = request.query.get("after_id"), request.query.get("before_id")
    if after is not None:
        start = _position(ids, after, "after_id") + 1
        page, has_more = ordered[start:start + limit], start + limit < len(ids)
    elif before is not None:
        end = _position(ids, before, "before_id")
        page, has_more = ordered[max(0, end - limit):end], end - limit > 0
    else:
        page, has_more = ordered[:limit], limit < len(ids)
    body = {"data": [_info(api, p) for p in page], "has_more": has_more,
            "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None}
    return _json(body, request_id)


def get_model(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    model_id = match.group("model_id")
    if model_id not in api.catalog.models:
        raise APIError(404, f"model: {model_id}")
    return _json(_info(api, api.catalog.models[model_id]), request_id)


def _json(body: Any, request_id: str) -> SimResponse:
    headers = {"request-id": request_id, "content-type": "application/json"}
    return SimResponse(status=200, body=body, headers=headers)


def _limit(raw: str | None) -> int:
    try:
        limit = DEFAULT_PAGE if raw is None else int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise invalid(f"limit: Input should be an integer between 1 and {MAX_PAGE}")
    return limit


def _position(ids: list[str], model_id: str, field: str) -> int:
    if model_id not in ids:
        raise invalid(f"{field}: no model with id {model_id!r}")
    return ids.index(model_id)


def _newest_first(api: SimAPI) -> list[ModelProfile]:
    return sorted(api.catalog.models.values(), key=lambda p: p.released, reverse=True)


def _info(api: SimAPI, profile: ModelProfile) -> dict[str, Any]:
    return {"type": "model", "id": profile.id, "display_name": profile.display_name,
            "created_at": _rfc3339(profile.released),
            "lifecycle": "active", "max_input_tokens": profile.context_window,
            "max_tokens": profile.max_output_tokens}


def _rfc3339(released: str) -> str:
    """`2026-10-07`, `2026-09` or `2026` as an RFC 3339 instant (missing parts: the first day); the
    epoch when unknown, as the ModelInfo docs allow."""
    parts = [int(p) for p in released.split("-") if p.isdigit()] or [1970]
    year, month, day = (parts + [1, 1])[:3]
    return f"{datetime.date(year, month, day).isoformat()}T00:00:00Z"
