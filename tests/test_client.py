import asyncio
import socket

import anthropic
import pytest

import labkit
from labkit import backend as backend
from labkit.errors import ConfigError

REQUEST = {"model": "claude-haiku-5-5", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Summarise the measurement problem briefly."}]}


@pytest.fixture(autouse=True)
def offline_config():
    labkit.configure(backend="sim", seed=0, time_scale=0)
    backend.reset_simulator()
    yield
    labkit.configure()


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to resolve a name or open a connection."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_simulated_client_is_the_real_sdk_and_opens_no_socket(no_network):
    client = labkit.client()
    assert isinstance(client, anthropic.Anthropic)
    message = client.messages.create(**REQUEST)
    assert message.type == "message" and message.usage.output_tokens > 0
    assert message._request_id.startswith("req_")


def test_async_simulated_client_opens_no_socket(no_network):
    async def main():
        async with labkit.async_client() as client:
            return await asyncio.gather(*(client.messages.create(**REQUEST) for _ in range(3)))

    answers = asyncio.run(main())
    assert len({a.content[0].text for a in answers}) == 1


def test_clients_share_one_simulated_service():
    assert backend.simulator() is backend.simulator()
    labkit.configure(seed=1, time_scale=0)
    assert backend.simulator().seed == 1


def test_live_mode_without_a_key_fails_before_any_call(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="live mode needs ANTHROPIC_API_KEY"):
        labkit.configure(backend="live")


def test_live_mode_builds_a_real_client_with_the_key(monkeypatch, no_network):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-real")
    labkit.configure(backend="live")
    client = labkit.client(max_retries=0)
    assert isinstance(client, anthropic.Anthropic)
    assert "sim.labkit" not in str(client.base_url)


def test_a_client_timeout_is_read_in_api_equivalent_seconds():
    slow = {**REQUEST, "max_tokens": 400, "messages": [{"role": "user", "content": "Research chaos theory in 300 words."}]}
    client = labkit.client(max_retries=0)
    assert client.messages.create(**slow).usage.output_tokens > 300
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=1.0).messages.create(**slow)
