"""The small endpoints: token counting and the model catalogue.

- `POST /v1/messages/count_tokens` -> `{"input_tokens": N}`: the Messages checks without `max_tokens`
  (version rules included), and the count `usage` would report for the same request (reference §5).
- `GET /v1/models` -> a page `{data, has_more, first_id, last_id}` of ModelInfo, newest first, with
  `limit` (1-1000, default 20) and `after_id`/`before_id` cursors (canonical ids); `GET
  /v1/models/{id}` -> one ModelInfo, also for an alias, which it resolves to the canonical id as the
  SDK's `models.retrieve` docstring says, or 404 `model: <id>` (reference §9.4).
- ModelInfo has every field of the SDK's `types/model_info.py`, `capabilities` every key of
  `types/model_capabilities.py` and its member types ("Keys are always present for all known
  capabilities"), from the profile in data/models.yaml. Dates (`created_at`, `deprecated_at`,
  `retires_at`) are read as the first day of the month or year when only that much is published.
  The `lifecycle` list filter is not modelled: every profile is `active` or `deprecated`, the stages
  the API lists by default.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from ..models import (
    CAPABILITY_FLAGS,
    CONTEXT_STRATEGIES,
    EFFORT_LEVELS,
    SERVER_TOOLS,
    ModelProfile,
)
from . import counting, thinking, tools, validation
from .wire import SimRequest, SimResponse, invalid

if TYPE_CHECKING:
    from .api import SimAPI

DEFAULT_PAGE = 20
MAX_PAGE = 1000


def count_tokens(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    params = validation.parse(request)
    validation.check_body(params, request.headers.get("anthropic-version", validation.LATEST), counting=True,
                          betas=validation.betas(request.headers))
    tools.check(params)
    profile = api.profile(params["model"])
    validation.check_prefill(params, profile)
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
    body = {"data": [_info(p) for p in page], "has_more": has_more,
            "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None}
    return _json(body, request_id)


def get_model(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    return _json(_info(api.profile(match.group("model_id"))), request_id)


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
    return sorted(api.catalog.models.values(), key=lambda p: _rfc3339(p.released), reverse=True)


def _info(profile: ModelProfile) -> dict[str, Any]:
    return {"type": "model", "id": profile.id, "display_name": profile.display_name, "line": profile.line,
            "created_at": _rfc3339(profile.released), "lifecycle": profile.lifecycle,
            "deprecated_at": _rfc3339(profile.deprecated_at) if profile.deprecated_at else None,
            "retires_at": _rfc3339(profile.retires_at) if profile.retires_at else None,
            "max_input_tokens": profile.context_window, "max_tokens": profile.max_output_tokens,
            "capabilities": _capabilities(profile)}


def _capabilities(profile: ModelProfile) -> dict[str, Any]:
    """ModelCapabilities: each group's `supported` is whether any of its members is; thinking is
    supported by a model that can think at all, and each thinking type exactly when a request with it
    is not a 400 (`ThinkingTypes` docstring), i.e. the profile's `thinking.modes`."""
    caps = profile.capabilities

    def group(members: tuple[str, ...], supported: tuple[str, ...]) -> dict[str, Any]:
        return {"supported": bool(supported), **{m: _support(m in supported) for m in members}}

    return {
        **{flag: _support(getattr(caps, flag)) for flag in CAPABILITY_FLAGS},
        "context_management": group(CONTEXT_STRATEGIES, caps.context_management),
        "effort": group(EFFORT_LEVELS, caps.effort),
        "server_tools": group(SERVER_TOOLS, caps.server_tools),
        "thinking": {"supported": any(m in profile.thinking_modes for m in ("enabled", "adaptive")),
                     "types": {m: _support(m in profile.thinking_modes) for m in thinking.MODES}},
    }


def _support(supported: bool) -> dict[str, bool]:
    return {"supported": supported}


def _rfc3339(date: str) -> str:
    """`2026-10-07`, `2026-09` or `2026` as an RFC 3339 instant (missing parts: the first day); the
    epoch when unknown, as the ModelInfo docs allow."""
    parts = [int(p) for p in date.split("-") if p.isdigit()] or [1970]
    year, month, day = (parts + [1, 1])[:3]
    return f"{datetime.date(year, month, day).isoformat()}T00:00:00Z"
