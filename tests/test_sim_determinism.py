"""The simulator is deterministic: same request and seed, same answer, usage and modelled time, whatever
the order or concurrency of the requests around it."""

import asyncio
import concurrent.futures
import json

import pytest

import labkit
from labkit import backend
from labkit.sim.wire import SimRequest

MODEL = "claude-haiku-5-5"
TOPICS = ("decoherence", "chaos theory", "Bayes", "the halting problem", "entanglement", "consciousness",
          "Gödel", "many-worlds", "the observer effect", "determinism")
REQUESTS = [
    {"model": MODEL, "max_tokens": 400 + 10 * i,
     "messages": [{"role": "user", "content": f"{verb} {TOPICS[i % 10]} and {TOPICS[(i + 3) % 10]}."}],
     **({"thinking": {"type": "adaptive"}} if i % 4 == 0 else {})}
    for i, verb in enumerate(["Write research notes on", "Summarize", "Outline a segment on", "Review a draft on"] * 5)
]


@pytest.fixture(autouse=True)
def offline():
    labkit.configure(backend="sim", seed=0, time_scale=0)
    backend.reset_simulator()
    yield
    labkit.configure()


def essence(message) -> tuple:
    """What must not vary: the id, the content and the usage."""
    return message.id, [b.model_dump() for b in message.content], message.usage.model_dump()


def sequential(requests) -> list[tuple]:
    backend.reset_simulator()
    client = labkit.client(max_retries=0)
    return [essence(client.messages.create(**r)) for r in requests]


def gathered(requests) -> list[tuple]:
    backend.reset_simulator()

    async def main():
        async with labkit.async_client(max_retries=0) as client:
            return await asyncio.gather(*(client.messages.create(**r) for r in requests))

    return [essence(m) for m in asyncio.run(main())]


def threaded(requests) -> list[tuple]:
    backend.reset_simulator()
    client = labkit.client(max_retries=0)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return [essence(m) for m in pool.map(lambda r: client.messages.create(**r), requests)]


def test_identical_requests_get_identical_content_and_usage():
    client = labkit.client(max_retries=0)
    first, second = (client.messages.create(**REQUESTS[0]) for _ in range(2))
    assert essence(first)[1:] == essence(second)[1:]
    assert first.id != second.id  # a new response is a new object, as on the real API


def test_a_fresh_service_with_the_same_seed_answers_identically():
    assert sequential(REQUESTS[:3]) == sequential(REQUESTS[:3])


def test_a_different_seed_gives_different_answers():
    zero = sequential(REQUESTS[:3])
    labkit.configure(backend="sim", seed=1, time_scale=0)
    one = sequential(REQUESTS[:3])
    assert all(a[1] != b[1] for a, b in zip(zero, one))


def test_order_and_concurrency_do_not_change_any_answer():
    in_order = sequential(REQUESTS)
    assert gathered(REQUESTS) == in_order
    assert threaded(REQUESTS) == in_order
    assert sequential(REQUESTS[::-1])[::-1] == in_order


def test_modelled_latency_is_deterministic_and_spread():
    def latency(body):
        request = SimRequest("POST", "/v1/messages", {"x-api-key": "k", "anthropic-version": "2026-10-21"},
                             json.dumps(body).encode())
        return backend.simulator().handle(request).latency

    assert [latency(r) for r in REQUESTS] == [latency(r) for r in REQUESTS]
    assert len({round(latency(r), 6) for r in REQUESTS}) == len(REQUESTS)
