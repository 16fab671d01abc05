"""Thinking in the simulator: modes per model, budgets, what is shown and billed, its time and its
effect on quality."""

import json
import statistics

import anthropic
import pytest
from anthropic.types import Message

import labkit
from labkit import backend, quality
from labkit.sim import thinking
from labkit.sim.wire import SimRequest

PROMPT = "Write research notes on the observer effect, decoherence and the measurement problem."
ASK = [{"role": "user", "content": PROMPT}]
ADAPTIVE = {"type": "adaptive"}


pytestmark = pytest.mark.usefixtures("offline")


def create(client, model="claude-haiku-5-5", max_tokens=8000, messages=ASK, **options) -> Message:
    return client.messages.create(model=model, max_tokens=max_tokens, messages=messages, **options)


def test_adaptive_thinking_comes_first_and_is_billed_as_output(client):
    answer = create(client, thinking=ADAPTIVE, output_config={"effort": "high"})
    first, second = answer.content
    assert first.type == "thinking" and first.thinking and first.signature
    assert second.type == "text"
    details = answer.usage.output_tokens_details
    assert 0 < details.thinking_tokens < answer.usage.output_tokens
    # The summary shown is shorter than the thinking billed (the docs' summarized thinking).
    assert len(first.thinking.split()) < details.thinking_tokens


def test_higher_effort_thinks_longer(client):
    spent = [create(client, thinking=ADAPTIVE, output_config={"effort": effort})
             .usage.output_tokens_details.thinking_tokens for effort in thinking.EFFORTS]
    assert spent == sorted(spent) and spent[0] < spent[-1]


def test_adaptive_uses_the_models_default_effort(client):
    default = create(client, thinking=ADAPTIVE).usage.output_tokens_details.thinking_tokens
    medium = create(client, thinking=ADAPTIVE, output_config={"effort": "medium"})
    assert default == medium.usage.output_tokens_details.thinking_tokens  # Haiku 5.5: medium


def test_adaptive_may_skip_thinking_on_a_simple_prompt(client):
    answer = create(client, messages=[{"role": "user", "content": "Say hello."}], thinking=ADAPTIVE,
                    output_config={"effort": "low"})
    assert [b.type for b in answer.content] == ["text"]
    assert answer.usage.output_tokens_details.thinking_tokens == 0


def test_display_omitted_keeps_the_signature_and_the_bill(client):
    shown = create(client, thinking={"type": "adaptive", "display": "summarized"})
    omitted = create(client, thinking={"type": "adaptive", "display": "omitted"})
    assert omitted.content[0].thinking == "" and omitted.content[0].signature
    assert omitted.usage.output_tokens_details == shown.usage.output_tokens_details


def test_manual_budget_on_a_model_that_takes_it(client):
    answer = create(client, model="claude-haiku-4-5", thinking={"type": "enabled", "budget_tokens": 1500})
    assert answer.content[0].type == "thinking"
    assert answer.usage.output_tokens_details.thinking_tokens == 1500  # this prompt deserves more


def test_deprecated_manual_budget_is_still_accepted(client):
    answer = create(client, model="claude-sonnet-4-6", thinking={"type": "enabled", "budget_tokens": 1024})
    assert answer.content[0].type == "thinking"


@pytest.mark.parametrize("model, config, start", [
    ("claude-haiku-5-5", {"type": "enabled", "budget_tokens": 2048}, '"thinking.type.enabled" is not supported'),
    ("claude-opus-5-5", {"type": "disabled"}, '"thinking.type.disabled" is not supported'),
    ("claude-haiku-4-5", ADAPTIVE, '"thinking.type.adaptive" is not supported'),
    ("claude-haiku-5-5", {"type": "between_tools"}, '"thinking.type.between_tools" is not supported'),
])
def test_modes_a_model_lacks_are_400(client, model, config, start):
    with pytest.raises(anthropic.BadRequestError) as caught:
        create(client, model=model, thinking=config)
    assert caught.value.body["error"]["message"].startswith(start)


@pytest.mark.parametrize("config, max_tokens, message", [
    ({"type": "enabled", "budget_tokens": 1000}, 8000, "greater than or equal to 1024"),
    ({"type": "enabled", "budget_tokens": 4000}, 4000, "`max_tokens` must be greater than `thinking.budget_tokens`"),
    ({"type": "enabled", "budget_tokens": 2048, "display": "full"}, 8000, "display"),
    ({"type": "thoughtful"}, 8000, "thinking.type"),
])
def test_bad_budgets_and_settings_are_400(client, config, max_tokens, message):
    with pytest.raises(anthropic.BadRequestError, match=message):
        create(client, model="claude-haiku-4-5", max_tokens=max_tokens, thinking=config)


def test_an_unknown_effort_is_400(client):
    with pytest.raises(anthropic.BadRequestError, match="output_config.effort"):
        create(client, thinking=ADAPTIVE, extra_body={"output_config": {"effort": "extreme"}})


def test_an_always_on_model_thinks_without_being_asked(client):
    answer = create(client, model="claude-opus-5-5")
    assert answer.content[0].type == "thinking"
    assert create(client, model="claude-haiku-5-5").content[0].type == "text"


def test_thinking_cannot_be_combined_with_a_forced_tool(client):
    tools = [{"name": "search_corpus", "input_schema": {"type": "object"}}]
    with pytest.raises(anthropic.BadRequestError, match="tool_choice forces tool use"):
        create(client, thinking=ADAPTIVE, tools=tools, tool_choice={"type": "any"})


def test_thinking_counts_toward_max_tokens(client):
    answer = create(client, max_tokens=1500, thinking=ADAPTIVE, output_config={"effort": "high"})
    assert answer.stop_reason == "max_tokens" and [b.type for b in answer.content] == ["thinking"]
    assert answer.usage.output_tokens == answer.usage.output_tokens_details.thinking_tokens == 1500


def test_thinking_blocks_can_be_passed_back(client):
    first = create(client, thinking=ADAPTIVE)
    follow_up = create(client, thinking=ADAPTIVE, messages=[
        *ASK, {"role": "assistant", "content": first.content}, {"role": "user", "content": "Now an outline."}])
    assert follow_up.content[0].type == "thinking"
    assert follow_up.content[0].signature != first.content[0].signature


def test_the_signature_is_deterministic(client):
    first = create(client, thinking=ADAPTIVE).content[0].signature
    backend.reset_simulator()
    assert labkit.client().messages.create(model="claude-haiku-5-5", max_tokens=8000, messages=ASK,
                                           thinking=ADAPTIVE).content[0].signature == first


def modelled_seconds(body: dict) -> float:
    request = SimRequest("POST", "/v1/messages", {"x-api-key": "k", "anthropic-version": "2026-10-21"},
                         json.dumps(body).encode())
    return backend.simulator().handle(request).latency


def test_thinking_takes_time_at_the_models_output_speed():
    base = {"model": "claude-haiku-5-5", "max_tokens": 8000, "messages": ASK}
    without = modelled_seconds(base)
    with_thinking = modelled_seconds({**base, "thinking": ADAPTIVE, "output_config": {"effort": "high"}})
    speed = backend.simulator().profile("claude-haiku-5-5").latency.output_tokens_per_s
    # ~2,200 thinking tokens at 53 tok/s (x jitter): tens of seconds more.
    assert with_thinking - without > 0.6 * 2200 / speed


WORKLOAD = [f"{verb} {topics}." for verb in ("Write research notes on", "Summarize", "Explain")
            for topics in ("decoherence, chaos theory and Bayes", "the halting problem and many-worlds",
                           "consciousness, determinism and the observer effect", "entanglement and Gödel")]


def mean_quality(client, **options) -> float:
    scores = []
    for prompt in WORKLOAD:
        answer = create(client, messages=[{"role": "user", "content": prompt}], **options)
        scores.append(quality.score("".join(b.text for b in answer.content if b.type == "text"), prompt))
    return statistics.mean(scores)


def test_thinking_trades_time_for_quality(client):
    none = mean_quality(client)
    low = mean_quality(client, thinking=ADAPTIVE, output_config={"effort": "low"})
    high = mean_quality(client, thinking=ADAPTIVE, output_config={"effort": "high"})
    assert none < 0.85 <= low <= high and high >= 0.95


def test_between_tools_is_accepted_where_the_model_lists_it_and_thinks_nothing_up_front():
    client = backend.client()
    ask = [{"role": "user", "content": "Research decoherence and the measurement problem."}]
    answer = client.messages.create(model="claude-sonnet-5-5", max_tokens=300, messages=ask,
                                    thinking={"type": "between_tools"})
    assert [block.type for block in answer.content] == ["text"]
    with pytest.raises(anthropic.BadRequestError, match="between_tools"):
        client.messages.create(model="claude-haiku-5-5", max_tokens=300, messages=ask,
                               thinking={"type": "between_tools"})
