"""How many simple requests per second the in-process simulator answers at time scale 0.

Not a test: run it by hand when the request path changes.

    .venv/bin/python benchmarks/sim_throughput.py [--requests 20000] [--sdk-requests 1000] [--rounds 3]

The target (issue #3) is at least 5,000 requests/s through `SimAPI.handle()` for a short prompt with
`max_tokens: 64`. Prompts vary (different concepts, kinds and wording, each one distinct) so no answer
is a repeat of the one before. The simulated clock is advanced 0.1 s per request: at time scale 0 it
would otherwise stand still, the default tier's token buckets would never refill and the run would
measure 429 refusals instead of answers. The SDK rows add the `anthropic` client's own work (request
building, httpx2, response parsing), which is most of the cost a lesson sees. Each row is measured
in several rounds on fresh prompts; the best and the median round are shown, since a shared machine's
speed drifts from one minute to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator

import anthropic

from labkit.backend import SIM_API_KEY, SIM_BASE_URL
from labkit.config import find_root
from labkit.sim import AsyncSimTransport, SimAPI, SimTransport
from labkit.sim.wire import SimRequest

MODEL = "claude-haiku-5-5"
MAX_TOKENS = 64
TICK_S = 0.1
WARM_UP = 500
HEADERS = {"x-api-key": SIM_API_KEY, "anthropic-version": "2026-10-21", "content-type": "application/json"}
TEMPLATES = ("Tell me about {x}.", "Summarize {x} for a listener, note {i}.", "Briefly: what is {x}? ({i})",
             "Research notes on {x}, item {i}.", "Outline a segment on {x} (draft {i}).", "Question {i}: {x}?")


def prompts(api: SimAPI, n: int) -> list[str]:
    """`n` distinct short prompts naming zero to two corpus concepts."""
    rng = random.Random(0)
    names = [c.keywords[0] for c in api.corpus.concepts] + ["podcast pacing", "guest booking"]
    out = []
    for i in range(n):
        topic = " and ".join(rng.sample(names, rng.choice((1, 1, 2))))
        out.append(TEMPLATES[i % len(TEMPLATES)].format(x=topic, i=i))
    return out


def body(prompt: str) -> dict:
    return {"model": MODEL, "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": prompt}]}


def bench_handle(api: SimAPI, texts: list[str], serialize: bool) -> float:
    requests = [SimRequest("POST", "/v1/messages", HEADERS, json.dumps(body(t)).encode()) for t in texts]
    start = time.perf_counter()
    for request in requests:
        api.clock.advance(TICK_S)
        response = api.handle(request)
        if serialize:
            response.content()
        if response.status != 200:
            raise SystemExit(f"unexpected {response.status}: {response.body}")
    return len(requests) / (time.perf_counter() - start)


def bench_sdk(api: SimAPI, texts: list[str]) -> float:
    client = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
                                 http_client=anthropic.DefaultHttpxClient(transport=SimTransport(api)))
    start = time.perf_counter()
    for text in texts:
        api.clock.advance(TICK_S)
        client.messages.create(**body(text))
    return len(texts) / (time.perf_counter() - start)


def bench_async_sdk(api: SimAPI, texts: list[str], concurrency: int = 20) -> float:
    async def main() -> float:
        http = anthropic.DefaultAsyncHttpxClient(transport=AsyncSimTransport(api))
        async with anthropic.AsyncAnthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
                                            http_client=http) as client:
            start = time.perf_counter()
            for i in range(0, len(texts), concurrency):
                api.clock.advance(TICK_S * concurrency)
                await asyncio.gather(*(client.messages.create(**body(t)) for t in texts[i:i + concurrency]))
            return len(texts) / (time.perf_counter() - start)

    return asyncio.run(main())


def rounds_of(measure: Callable[[list[str]], float], texts: Iterator[str], size: int,
              rounds: int) -> tuple[float, float]:
    """(best, median) requests/s over `rounds` runs of `size` fresh prompts each."""
    rates = [measure([next(texts) for _ in range(size)]) for _ in range(rounds)]
    return max(rates), statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round, for the handle() rows")
    parser.add_argument("--sdk-requests", type=int, default=1_000, help="per round, for the SDK rows")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    api = SimAPI(seed=0, data_dir=find_root() / "data")
    texts = iter(prompts(api, WARM_UP + args.rounds * 2 * (args.requests + args.sdk_requests)))
    bench_handle(api, [next(texts) for _ in range(WARM_UP)], serialize=True)  # tokenizer, first-use caches
    rows = [
        ("SimAPI.handle()", args.requests, lambda batch: bench_handle(api, batch, serialize=False)),
        ("handle() + JSON body", args.requests, lambda batch: bench_handle(api, batch, serialize=True)),
        ("SDK client, sync", args.sdk_requests, lambda batch: bench_sdk(api, batch)),
        ("SDK client, async x20", args.sdk_requests, lambda batch: bench_async_sdk(api, batch)),
    ]
    print(f"{'path':<24}{'requests':>10}{'best req/s':>12}{'median req/s':>14}")
    results = {}
    for name, size, measure in rows:
        best, median = rounds_of(measure, texts, size, args.rounds)
        results[name] = best
        print(f"{name:<24}{size:>10,}{best:>12,.0f}{median:>14,.0f}")
    verdict = "meets" if results["SimAPI.handle()"] >= 5000 else "MISSES"
    print(f"\nSimAPI.handle() {verdict} the 5,000 requests/s target ({MODEL}, max_tokens={MAX_TOKENS}, "
          f"best of {args.rounds} rounds).")


if __name__ == "__main__":
    main()
