"""`labkit serve`: the simulator over real HTTP on a loopback port, for any client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from labkit.clock import SimClock
from labkit.errors import ConfigError
from labkit.sim import SimAPI
from labkit.sim.server import SimHTTPServer, running

DATA = Path(__file__).resolve().parents[1] / "data"
HAIKU = "claude-haiku-5-5"
HELLO = {"model": HAIKU, "max_tokens": 300, "messages": [{"role": "user", "content": "Explain decoherence briefly."}]}
HEADERS = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}
TOOLS = [{"name": "search_corpus", "description": "Search the research corpus for a topic.",
          "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}]


@pytest.fixture
def api() -> SimAPI:
    """A served simulator: its clock's waiting is done by the server's threads, not this one."""
    return SimAPI(seed=0, data_dir=DATA, clock=SimClock(include_creator=False))


@pytest.fixture
def server(api: SimAPI) -> Iterator[SimHTTPServer]:
    with running(api) as live:
        yield live


@pytest.fixture
def client(server: SimHTTPServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="sk-test", max_retries=0)


def http(server: SimHTTPServer, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers or HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_plain_http_message(server: SimHTTPServer) -> None:
    status, headers, body = http(server, "POST", "/v1/messages", HELLO)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    message = anthropic.types.Message.model_validate_json(body)
    assert message.id.startswith("msg_") and message.usage.output_tokens > 0
    assert headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-requests-remaining" in headers


def test_plain_http_errors_have_the_api_shape(server: SimHTTPServer) -> None:
    status, _, body = http(server, "GET", "/v1/nothing-here")
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found_error"
    status, _, body = http(server, "POST", "/v1/messages", HELLO, headers={"content-type": "application/json",
                                                                       "anthropic-version": "2023-06-01"})
    assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"


def test_sdk_create_and_count_and_models(client: anthropic.Anthropic) -> None:
    message = client.messages.create(**HELLO)
    assert message.content and message._request_id.startswith("req_")
    assert client.messages.count_tokens(model=HAIKU, messages=HELLO["messages"]).input_tokens > 0
    assert HAIKU in [m.id for m in client.models.list()]


def test_sdk_stream_like_an_agentic_client(client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "You are a research assistant for a science podcast. " * 150,
               "cache_control": {"type": "ephemeral"}}]
    request = {"model": HAIKU, "max_tokens": 2000, "system": system, "tools": TOOLS,
               "thinking": {"type": "adaptive"},
               "messages": [{"role": "user", "content": "Research quantum decoherence using the corpus."}],
               "betas": ["interleaved-thinking-2025-05-14"]}
    kinds = []
    with client.beta.messages.stream(**request) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and "content_block_delta" in kinds and kinds[-1] == "message_stop"
    assert final.usage.cache_creation_input_tokens > 0
    with client.beta.messages.stream(**request) as stream:
        again = stream.get_final_message()
    assert again.usage.cache_read_input_tokens == final.usage.cache_creation_input_tokens


def test_sse_wire_format(server: SimHTTPServer) -> None:
    with httpx2.Client(timeout=10) as raw:
        with raw.stream("POST", server.url + "/v1/messages", headers=HEADERS, json={**HELLO, "stream": True}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["transfer-encoding"] == "chunked"
            lines = [line for line in response.iter_lines() if line]
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    data = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert [d["type"] for d in data] == events


def test_async_sdk_over_http(server: SimHTTPServer) -> None:
    async def gather() -> list[anthropic.types.Message]:
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key="sk-test", max_retries=0) as aclient:
            return await asyncio.gather(*(aclient.messages.create(**HELLO) for _ in range(8)))

    replies = asyncio.run(gather())
    assert len({r.id for r in replies}) == 8


def test_batches_results_url_points_at_the_server(api: SimAPI, server: SimHTTPServer,
                                                  client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(requests=[{"custom_id": f"r{i}", "params": HELLO} for i in range(3)])
    api.clock.advance(24 * 3600)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.results_url == f"{server.url}/v1/messages/batches/{batch.id}/results"
    assert sorted(r.custom_id for r in client.messages.batches.results(batch.id)) == ["r0", "r1", "r2"]
    status, headers, body = http(server, "GET", f"/v1/messages/batches/{batch.id}/results")
    assert status == 200 and len(body.splitlines()) == 3


def test_rate_limits_over_http(api: SimAPI, server: SimHTTPServer) -> None:
    api.limits.set_tier("tier1")
    api.clock.pace = 0.01  # a real-time pause, so that the concurrent requests overlap

    async def burst() -> list[Any]:
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key="sk-test", max_retries=0) as client:
            return await asyncio.gather(*(client.messages.create(**{**HELLO, "max_tokens": 20})
                                          for _ in range(52)), return_exceptions=True)

    refused = [o for o in asyncio.run(burst()) if isinstance(o, anthropic.RateLimitError)]
    assert len(refused) == 2
    assert int(refused[0].response.headers["retry-after"]) >= 1


def test_a_slow_fault_times_the_client_out() -> None:
    api = SimAPI(seed=0, data_dir=DATA, clock=SimClock(0.01, include_creator=False))
    api.faults.fail_next(1, "timeout", after_s=100)  # 1 s of real time at pace 0.01
    with running(api) as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="sk-test", max_retries=0, timeout=0.3)
        with pytest.raises(anthropic.APITimeoutError):
            client.messages.create(**HELLO)


def test_a_stream_error_over_http(api: SimAPI, client: anthropic.Anthropic) -> None:
    api.faults.fail_next(1, "stream_error")
    with pytest.raises(anthropic.APIStatusError, match="(?i)overloaded"):
        with client.messages.stream(**HELLO) as stream:
            stream.get_final_message()


def test_only_loopback_addresses(api: SimAPI) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        SimHTTPServer(api, "0.0.0.0", 0)
    with pytest.raises(ConfigError):
        SimHTTPServer(api, "example.com", 0)


def test_labkit_serve_command() -> None:
    process = subprocess.Popen([sys.executable, "-m", "labkit.cli", "serve", "--port", "0", "--time-scale", "0",
                                "--tier", "tier1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        assert "tier1" in banner
        line = process.stdout.readline()
        url = line.split("ANTHROPIC_BASE_URL=")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        client = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
        headers = client.messages.with_raw_response.create(**HELLO).headers
        assert headers["anthropic-ratelimit-requests-limit"] == "50"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _serve_once(*options: str) -> str:
    """Start `labkit serve`, ask it one question, stop it: the message's id."""
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_SEED"}
    process = subprocess.Popen([sys.executable, "-m", "labkit.cli", "serve", "--port", "0", "--time-scale", "0",
                                *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        process.stdout.readline()
        url = process.stdout.readline().split("ANTHROPIC_BASE_URL=")[1].split()[0]
        client = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
        return client.messages.create(**HELLO).id
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_each_server_makes_its_own_ids_unless_the_seed_pins_them() -> None:
    assert _serve_once() != _serve_once(), "two servers must not hand out the same message ids"
    assert _serve_once("--seed", "7") == _serve_once("--seed", "7")
