"""Message Batches in the simulator, through the real SDK: lifecycle, results, limits, pricing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse

from labkit import cost
from labkit.backend import SIM_API_KEY, SIM_BASE_URL
from labkit.sim import AsyncSimTransport, SimAPI, SimTransport

DATA = Path(__file__).resolve().parents[1] / "data"
HAIKU = "claude-haiku-5-5"
DAY = 24 * 3600


def params(i: int, **extra: Any) -> dict[str, Any]:
    return {"model": HAIKU, "max_tokens": 300,
            "messages": [{"role": "user", "content": f"Summarize prompt caching, take {i}."}], **extra}


def requests(n: int) -> list[dict[str, Any]]:
    return [{"custom_id": f"req-{i}", "params": params(i)} for i in range(n)]


def finish(api: SimAPI) -> None:
    api.clock.advance(DAY)


def test_a_new_batch_is_in_progress(api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(3))
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.results_url is None and batch.ended_at is None
    assert batch.request_counts.model_dump() == {"processing": 3, "succeeded": 0, "errored": 0,
                                                 "canceled": 0, "expired": 0}
    assert batch.expires_at - batch.created_at == datetime.timedelta(hours=24)


def test_a_batch_ends_and_its_results_are_jsonl(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(4))
    finish(api)
    batch = api_client.messages.batches.retrieve(batch.id)
    assert batch.processing_status == "ended" and batch.ended_at is not None
    assert batch.request_counts.succeeded == 4 and batch.request_counts.processing == 0
    assert batch.results_url == f"{SIM_BASE_URL}/v1/messages/batches/{batch.id}/results"
    results = list(api_client.messages.batches.results(batch.id))
    assert sorted(r.custom_id for r in results) == [f"req-{i}" for i in range(4)]
    for result in results:
        assert isinstance(result, MessageBatchIndividualResponse) and result.result.type == "succeeded"
        assert result.result.message.usage.output_tokens > 0


def test_each_result_is_what_the_messages_endpoint_answers(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(2))
    finish(api)
    batched = {r.custom_id: r.result.message for r in api_client.messages.batches.results(batch.id)}
    fresh = SimAPI(seed=0, data_dir=DATA)
    direct = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                 http_client=anthropic.DefaultHttpxClient(transport=SimTransport(fresh)))
    for i in range(2):
        alone = direct.messages.create(**params(i))
        assert batched[f"req-{i}"].content == alone.content
        usage = batched[f"req-{i}"].usage  # the same usage, on the batch tier, which prices the discount
        assert usage.service_tier == "batch"
        assert usage.model_copy(update={"service_tier": "standard"}) == alone.usage


def test_batch_usage_is_priced_at_half(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(1))
    finish(api)
    usage = next(iter(api_client.messages.batches.results(batch.id))).result.message.usage
    standard = usage.model_copy(update={"service_tier": "standard"})
    assert usage.service_tier == "batch"  # so the result's own usage is priced at the batch discount
    assert cost.price(usage, HAIKU).total == pytest.approx(cost.price(standard, HAIKU).total / 2)
    assert cost.price(standard, HAIKU, batch=True).total == pytest.approx(cost.price(usage, HAIKU).total)


def test_results_are_deterministic_and_in_finishing_order(api_client: anthropic.Anthropic) -> None:
    def lines() -> bytes:
        api = SimAPI(seed=0, data_dir=DATA)
        sdk = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                  http_client=anthropic.DefaultHttpxClient(transport=SimTransport(api)))
        batch = sdk.messages.batches.create(requests=requests(6))
        finish(api)
        return sdk.messages.batches.results(batch.id).http_response.read()

    first, second = lines(), lines()
    assert first == second and first.count(b"\n") == 6


def test_an_invalid_request_is_an_errored_result_not_a_failed_batch(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    bad = [{"custom_id": "no-max-tokens", "params": {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]}},
           {"custom_id": "unknown-model", "params": {**params(0), "model": "claude-nonexistent"}},
           {"custom_id": "streamed", "params": {**params(1), "stream": True}},
           {"custom_id": "pre-warm", "params": {**params(2), "max_tokens": 0}}]
    batch = api_client.messages.batches.create(requests=requests(2) + bad)
    finish(api)
    counts = api_client.messages.batches.retrieve(batch.id).request_counts
    assert (counts.succeeded, counts.errored) == (2, 4)
    errors = {r.custom_id: r.result.error for r in api_client.messages.batches.results(batch.id)
              if r.result.type == "errored"}
    assert errors["no-max-tokens"].type == "error" and errors["no-max-tokens"].error.type == "invalid_request_error"
    assert errors["unknown-model"].error.type == "not_found_error"
    assert errors["streamed"].error.type == "invalid_request_error"
    assert errors["pre-warm"].error.type == "invalid_request_error"
    assert all(e.request_id and e.request_id.startswith("req_") for e in errors.values())


def test_processing_takes_simulated_time(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    api.batches.limits = dataclasses.replace(api.batches.limits, concurrency=1)
    batch = api_client.messages.batches.create(requests=requests(5))
    api.clock.advance(api.batches.limits.queue_delay_s + 1)  # the first request is running
    partway = api_client.messages.batches.retrieve(batch.id)
    assert partway.processing_status == "in_progress"
    assert partway.request_counts.processing == 5 and partway.request_counts.succeeded == 0  # per the docs
    api.clock.advance(3600)
    ended = api_client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    took = (ended.ended_at - ended.created_at).total_seconds()
    assert api.batches.limits.queue_delay_s + 5 < took < 3600  # five requests, one after another


def test_cancel_goes_through_canceling_to_ended(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(3))
    canceling = api_client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert api_client.messages.batches.cancel(batch.id).processing_status == "canceling"  # idempotent
    api.clock.advance(api.batches.limits.cancel_settle_s)
    ended = api_client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 3
    assert {r.result.type for r in api_client.messages.batches.results(batch.id)} == {"canceled"}
    with pytest.raises(anthropic.BadRequestError):
        api_client.messages.batches.cancel(batch.id)


def test_cancel_lets_running_requests_finish(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    api.batches.limits = dataclasses.replace(api.batches.limits, concurrency=2)
    batch = api_client.messages.batches.create(requests=requests(6))
    api.clock.advance(api.batches.limits.queue_delay_s + 0.1)  # two requests running
    api_client.messages.batches.cancel(batch.id)
    api.clock.advance(3600)
    counts = api_client.messages.batches.retrieve(batch.id).request_counts
    assert (counts.succeeded, counts.canceled) == (2, 4)
    types = [r.result.type for r in api_client.messages.batches.results(batch.id)]
    assert types == ["succeeded", "succeeded", "canceled", "canceled", "canceled", "canceled"]


def test_unfinished_requests_expire_after_24_hours(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    api.batches.limits = dataclasses.replace(api.batches.limits, queue_delay_s=25 * 3600)
    batch = api_client.messages.batches.create(requests=requests(2))
    api.clock.advance(DAY - 1)
    assert api_client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    api.clock.advance(2)
    ended = api_client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at == ended.expires_at
    assert ended.request_counts.expired == 2
    assert {r.result.type for r in api_client.messages.batches.results(batch.id)} == {"expired"}


def test_delete_only_an_ended_batch(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    batch = api_client.messages.batches.create(requests=requests(1))
    with pytest.raises(anthropic.BadRequestError, match="cancel"):
        api_client.messages.batches.delete(batch.id)
    finish(api)
    deleted = api_client.messages.batches.delete(batch.id)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        api_client.messages.batches.retrieve(batch.id)


def test_list_pages_newest_first(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    ids = []
    for _ in range(5):
        ids.append(api_client.messages.batches.create(requests=requests(1)).id)
        api.clock.advance(1)
    newest_first = ids[::-1]
    page = api_client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more
    assert (page.first_id, page.last_id) == (newest_first[0], newest_first[1])
    assert [b.id for b in api_client.messages.batches.list(limit=2)] == newest_first  # auto-paging via after_id
    after = api_client.messages.batches.list(limit=2, after_id=newest_first[3])
    assert [b.id for b in after.data] == newest_first[4:] and not after.has_more
    before = api_client.messages.batches.list(limit=2, before_id=newest_first[3])
    assert [b.id for b in before.data] == newest_first[1:3] and before.has_more
    with pytest.raises(anthropic.BadRequestError):
        api_client.messages.batches.list(limit=0)


def test_create_validation(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="unique"):
        api_client.messages.batches.create(requests=[requests(1)[0], requests(1)[0]])
    with pytest.raises(anthropic.BadRequestError):
        api_client.messages.batches.create(requests=[])
    api.batches.limits = dataclasses.replace(api.batches.limits, max_requests=3)
    with pytest.raises(anthropic.BadRequestError, match="at most 3 requests"):
        api_client.messages.batches.create(requests=requests(4))
    api.batches.limits = dataclasses.replace(api.batches.limits, max_bytes=2000)
    with pytest.raises(anthropic.APIStatusError) as caught:
        api_client.messages.batches.create(requests=requests(20))
    assert caught.value.status_code == 413 and caught.value.type == "request_too_large"


def test_batch_requests_skip_the_messages_rate_limits() -> None:
    api = SimAPI(seed=0, data_dir=DATA, tier="tier1")
    api_client = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
                                 http_client=anthropic.DefaultHttpxClient(transport=SimTransport(api)))
    batch = api_client.messages.batches.create(requests=requests(60))  # more than tier 1's 50 RPM
    api.clock.advance(DAY)
    assert api_client.messages.batches.retrieve(batch.id).request_counts.succeeded == 60
    headers = api_client.messages.with_raw_response.create(**params(0)).headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "49"


def test_the_batch_queue_limit_is_a_429(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    api.limits.tier = dataclasses.replace(api.limits.tier, batch_queue_requests=5)
    api_client.messages.batches.create(requests=requests(4))
    with pytest.raises(anthropic.RateLimitError, match="queue"):
        api_client.messages.batches.create(requests=requests(2))
    finish(api)
    api_client.messages.batches.create(requests=requests(5))  # the first batch left the queue


def test_batched_requests_share_the_prompt_cache(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "A shared briefing on prompt caching. " * 300,
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    batch = api_client.messages.batches.create(
        requests=[{"custom_id": f"c{i}", "params": params(i, system=system)} for i in range(3)])
    finish(api)
    usages = [r.result.message.usage for r in api_client.messages.batches.results(batch.id)]
    assert sum(u.cache_creation.ephemeral_1h_input_tokens > 0 for u in usages) == 1
    assert sum(u.cache_read_input_tokens > 0 for u in usages) == 2


def test_missing_batches_are_404(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        api_client.messages.batches.retrieve("msgbatch_missing")


def test_async_client_runs_the_whole_lifecycle(api: SimAPI) -> None:
    async def lifecycle() -> list[str]:
        aclient = anthropic.AsyncAnthropic(
            api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
            http_client=anthropic.DefaultAsyncHttpxClient(transport=AsyncSimTransport(api)))
        batch = await aclient.messages.batches.create(requests=requests(3))
        api.clock.advance(DAY)
        assert (await aclient.messages.batches.retrieve(batch.id)).processing_status == "ended"
        return [r.result.type async for r in await aclient.messages.batches.results(batch.id)]

    assert asyncio.run(lifecycle()) == ["succeeded"] * 3
