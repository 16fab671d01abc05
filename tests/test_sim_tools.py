"""Client tools in the simulator: when the model calls them, with what input, and an agent loop."""

import asyncio

import anthropic
import pytest
from anthropic.types import Message

import labkit
from labkit import backend

MODEL = "claude-haiku-5-5"
SEARCH = {"name": "search_corpus", "description": "Search the research corpus for facts about a concept.",
          "input_schema": {"type": "object", "properties": {
              "query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 10},
              "language": {"type": "string", "enum": ["en", "de", "fr"]}, "verbose": {"type": "boolean"}},
              "required": ["query", "limit", "language"]}}
WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TOOLS = [SEARCH, WEATHER]


pytestmark = pytest.mark.usefixtures("offline")


def ask(client, text, **options):
    return client.messages.create(model=MODEL, max_tokens=1000, tools=options.pop("tools", TOOLS),
                                  messages=[{"role": "user", "content": text}], **options)


def calls(message):
    return [b for b in message.content if b.type == "tool_use"]


def test_a_turn_naming_a_tool_gets_a_tool_use_block(client):
    answer = ask(client, "Search for the top 3 facts on decoherence, in French (fr).")
    assert answer.stop_reason == "tool_use"
    (call,) = calls(answer)
    assert call.name == "search_corpus" and call.id.startswith("toolu_01")
    assert call.input == {"query": "Quantum decoherence", "limit": 3, "language": "fr"}
    assert answer.content[0].type == "text"  # with `auto`, a sentence before the call


def test_two_description_words_name_a_tool_too(client):
    (call,) = calls(ask(client, "What is the current weather like in \"Lisbon\"?"))
    assert call.name == "get_weather" and call.input == {"city": "Lisbon"}


def test_a_turn_that_names_no_tool_is_answered_in_text(client):
    answer = ask(client, "Write research notes on decoherence.")
    assert answer.stop_reason == "end_turn" and not calls(answer)


def test_free_text_tools_fan_out_one_call_per_concept(client):
    answer = ask(client, "Search the corpus on decoherence and the many-worlds interpretation.")
    assert [c.input["query"] for c in calls(answer)] == ["Quantum decoherence", "Many-worlds interpretation"]
    assert len({c.id for c in calls(answer)}) == 2
    single = ask(client, "Search the corpus on decoherence and the many-worlds interpretation.",
                 tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    assert len(calls(single)) == 1


def test_tool_choice_none_never_calls(client):
    answer = ask(client, "Search the corpus for decoherence.", tool_choice={"type": "none"})
    assert answer.stop_reason == "end_turn" and not calls(answer)


def test_tool_choice_any_calls_even_unnamed_tools_and_says_nothing_first(client):
    answer = ask(client, "Write research notes on decoherence.", tool_choice={"type": "any"})
    assert answer.stop_reason == "tool_use" and [b.type for b in answer.content] == ["tool_use"]


def test_tool_choice_tool_forces_that_tool(client):
    answer = ask(client, "Search the corpus for decoherence.", tool_choice={"type": "tool", "name": "get_weather"})
    assert [c.name for c in calls(answer)] == ["get_weather"]


def test_nested_arrays_and_defaults_are_built_from_the_schema(client):
    tool = {"name": "plan_episode", "description": "Plan an episode.", "input_schema": {
        "type": "object", "required": ["segments", "meta", "minutes"],
        "properties": {"segments": {"type": "array", "items": {"type": "string"}},
                       "meta": {"type": "object", "required": ["draft"], "properties": {"draft": {"type": "boolean"}}},
                       "minutes": {"type": "number", "default": 25}}}}
    (call,) = calls(ask(client, "Plan an episode about Bayes.", tools=[tool]))
    bayes = backend.simulator().corpus.match("bayes")[0].name
    assert call.input == {"segments": [bayes], "meta": {"draft": True}, "minutes": 25}


def test_an_agent_loop_runs_to_a_text_answer_that_uses_the_results(client):
    messages = [{"role": "user", "content": "Search the corpus on decoherence and chaos theory."}]
    for _ in range(3):
        answer = client.messages.create(model=MODEL, max_tokens=1000, tools=TOOLS, messages=messages)
        if answer.stop_reason != "tool_use":
            break
        messages += [{"role": "assistant", "content": answer.content},
                     {"role": "user", "content": [
                         {"type": "tool_result", "tool_use_id": c.id, "content": f"RESULT-{c.input['query']}"}
                         for c in calls(answer)]}]
    assert answer.stop_reason == "end_turn" and len(messages) == 3
    text = answer.content[0].text
    assert "RESULT-Quantum decoherence" in text and "RESULT-Chaos theory" in text


def test_an_async_agent_loop_gets_the_same_answers(client):
    async def loop():
        async with labkit.async_client(max_retries=0) as aclient:
            first = await aclient.messages.create(model=MODEL, max_tokens=500, tools=TOOLS, messages=[
                {"role": "user", "content": "Search the corpus on decoherence."}])
            (call,) = calls(first)
            return await aclient.messages.create(model=MODEL, max_tokens=500, tools=TOOLS, messages=[
                {"role": "user", "content": "Search the corpus on decoherence."},
                {"role": "assistant", "content": first.content},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "42",
                                              "is_error": True}]}])

    final = asyncio.run(loop())
    assert final.stop_reason == "end_turn" and "search_corpus call failed (42)" in final.content[0].text


def test_a_tool_result_must_answer_a_tool_use_of_the_previous_turn(client):
    with pytest.raises(anthropic.BadRequestError, match="unexpected `tool_use_id`"):
        client.messages.create(model=MODEL, max_tokens=100, tools=TOOLS, messages=[
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01nope", "content": "x"}]}])


def test_every_tool_use_needs_a_tool_result_in_the_next_turn(client):
    first = ask(client, "Search the corpus on decoherence.")
    with pytest.raises(anthropic.BadRequestError, match="without `tool_result` blocks"):
        client.messages.create(model=MODEL, max_tokens=100, tools=TOOLS, messages=[
            {"role": "user", "content": "Search the corpus on decoherence."},
            {"role": "assistant", "content": first.content}, {"role": "user", "content": "and?"}])


@pytest.mark.parametrize("options, message", [
    ({"tool_choice": {"type": "auto"}}, "tool_choice may only be specified while providing tools"),
    ({"tools": [SEARCH, SEARCH]}, "Tool names must be unique"),
    ({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}, "String should match pattern"),
    ({"tools": [{"name": "x"}]}, "input_schema: Field required"),
    ({"tools": TOOLS, "tool_choice": {"type": "tool", "name": "missing"}}, "no tool named"),
    ({"tools": TOOLS, "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
])
def test_malformed_tools_are_400(client, options, message):
    with pytest.raises(anthropic.BadRequestError, match=message):
        client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi"}], **options)


def test_tool_blocks_need_tools_defined(client):
    first = ask(client, "Search the corpus on decoherence.")
    (call,) = calls(first)
    with pytest.raises(anthropic.BadRequestError, match="must define tools"):
        client.messages.create(model=MODEL, max_tokens=100, messages=[
            {"role": "user", "content": "Search the corpus on decoherence."},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "x"}]}])


def test_server_tools_are_accepted_and_never_called(client):
    server = {"type": "web_search_20250305", "name": "web_search"}
    answer = ask(client, "Search the web for decoherence.", tools=[server])
    assert answer.stop_reason == "end_turn" and not calls(answer)


def test_a_tool_call_that_does_not_fit_max_tokens_is_dropped(client):
    answer = client.messages.create(model=MODEL, max_tokens=12, tools=TOOLS, messages=[
        {"role": "user", "content": "Search the corpus on decoherence."}])
    assert answer.stop_reason == "max_tokens" and not calls(answer)


def test_tool_use_responses_validate_as_sdk_messages(client):
    response = client.messages.with_raw_response.create(model=MODEL, max_tokens=500, tools=TOOLS, messages=[
        {"role": "user", "content": "Search the corpus on decoherence."}])
    assert Message.model_validate(response.json()).stop_reason == "tool_use"
