"""Faults on demand: scheduled and seeded-random 529 / 500 / 504 errors and broken streams."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import anthropic
import pytest

from labkit import backend
from labkit.backend import SIM_API_KEY
from labkit.sim import SimAPI
from labkit.sim.wire import SimRequest

DATA = Path(__file__).resolve().parents[1] / "data"
HELLO = {"model": "claude-haiku-5-5", "max_tokens": 200,
         "messages": [{"role": "user", "content": "Explain prompt caching in a paragraph."}]}


def sdk(api: SimAPI, max_retries: int = 0) -> anthropic.Anthropic:
    return backend.client(api=api, max_retries=max_retries)


def post(api: SimAPI, **headers: str):
    """One Messages request straight to the simulator, to see what the SDK does not show."""
    base = {"x-api-key": SIM_API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    return api.handle(SimRequest("POST", "/v1/messages", {**base, **headers}, json.dumps(HELLO).encode()))


def outcomes(client: anthropic.Anthropic, n: int) -> list[str]:
    """'ok' or the error type of each of `n` requests."""
    out = []
    for _ in range(n):
        try:
            client.messages.create(**HELLO)
            out.append("ok")
        except anthropic.APIStatusError as error:
            out.append(error.type or str(error.status_code))
    return out


def test_scheduled_requests_fail_with_529(api: SimAPI) -> None:
    api.faults.schedule("overloaded", at=[3, 7])
    assert outcomes(sdk(api), 8) == ["ok", "ok", "overloaded_error", "ok", "ok", "ok", "overloaded_error", "ok"]
    assert [(f.ordinal, f.kind) for f in api.faults.log] == [(3, "overloaded"), (7, "overloaded")]


def test_ordinals_count_from_when_the_schedule_is_set(api: SimAPI) -> None:
    client = sdk(api)
    outcomes(client, 2)
    api.faults.schedule("api_error", at=[1])
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(**HELLO)
    assert caught.value.status_code == 500 and caught.value.type == "api_error"


def test_sdk_retries_through_the_next_failures(api: SimAPI) -> None:
    api.faults.fail_next(2, "overloaded")
    raw = sdk(api, max_retries=2).messages.with_raw_response.create(**HELLO)
    assert raw.retries_taken == 2
    assert raw.parse().content


def test_fault_responses_advise_the_sdks_own_backoff(api: SimAPI) -> None:
    api.faults.fail_next(3)
    for retry in range(3):
        response = post(api, **{"x-stainless-retry-count": str(retry)})
        assert response.status == 529
        backoff = float(response.headers["retry-after"])
        assert 0.75 * 0.5 * 2 ** retry <= backoff <= 0.5 * 2 ** retry  # the SDK's 0.5 s, 1 s, 2 s x jitter
        assert "retry-after-ms" not in response.headers


def test_sdk_retries_of_faults_cost_their_backoff_in_simulated_time_only(api: SimAPI) -> None:
    api.faults.fail_next(2, "overloaded")
    before = api.clock.read()
    raw = sdk(api, max_retries=2).messages.with_raw_response.create(**HELLO)
    waited = api.clock.read() - before
    assert raw.retries_taken == 2
    assert waited.modelled >= 0.75 * (0.5 + 1.0)  # the two back-offs, seeded, as simulated time
    assert waited.local < 0.5  # and no real wait


def test_should_retry_false_stops_the_sdk(api: SimAPI) -> None:
    api.faults.fail_next(1, "overloaded", should_retry=False)
    with pytest.raises(anthropic.OverloadedError) as caught:
        sdk(api, max_retries=2).messages.create(**HELLO)
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(api.faults.log) == 1


def test_random_faults_are_deterministic_for_a_seed() -> None:
    def run() -> list[str]:
        api = SimAPI(seed=0, data_dir=DATA)
        api.faults.random(rate=0.3, kinds=("overloaded", "api_error"), seed=7)
        return outcomes(sdk(api), 30)

    first, second = run(), run()
    assert first == second
    failed = [o for o in first if o != "ok"]
    assert 3 <= len(failed) <= 18 and {"overloaded_error", "api_error"} >= set(failed)


def test_random_rate_bounds(api: SimAPI) -> None:
    api.faults.random(rate=0.0)
    assert outcomes(sdk(api), 5) == ["ok"] * 5
    api.faults.random(rate=1.0, kinds=["api_error"])
    assert outcomes(sdk(api), 3) == ["api_error"] * 3
    api.faults.clear()
    assert outcomes(sdk(api), 2) == ["ok", "ok"]


def test_timeout_fault_is_a_late_504(api: SimAPI) -> None:
    api.faults.fail_next(1, "timeout", after_s=90)
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk(api).messages.create(**HELLO)
    assert caught.value.status_code == 504 and caught.value.type == "timeout_error"
    api.faults.fail_next(1, "timeout")
    response = post(api)
    assert response.status == 504 and response.latency == api.catalog.timeout_after_s


def test_stream_error_breaks_a_stream_midway(api: SimAPI) -> None:
    api.faults.fail_next(1, "stream_error")
    received = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with sdk(api).messages.stream(**HELLO) as stream:
            for event in stream:
                received.append(event.type)
    assert "overloaded" in str(caught.value).lower()
    assert received and received[0] == "message_start" and "message_stop" not in received


def test_stream_error_on_a_plain_request_is_a_529(api: SimAPI) -> None:
    api.faults.fail_next(1, "stream_error")
    with pytest.raises(anthropic.OverloadedError):
        sdk(api).messages.create(**HELLO)


def test_only_messages_requests_are_counted(api: SimAPI) -> None:
    client = sdk(api)
    api.faults.schedule("overloaded", at=[1])
    client.messages.batches.list()
    client.models.list()
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(**HELLO)


def test_async_clients_meet_faults_too(api: SimAPI) -> None:
    api.faults.fail_next(1, "api_error")

    async def call() -> None:
        client = backend.async_client(api=api, max_retries=0)
        await client.messages.create(**HELLO)

    with pytest.raises(anthropic.InternalServerError):
        asyncio.run(call())


def test_bad_plans_are_refused(api: SimAPI) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        api.faults.schedule("meltdown")
    with pytest.raises(ValueError, match="count from 1"):
        api.faults.schedule("overloaded", at=[0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        api.faults.random(rate=1.5)
