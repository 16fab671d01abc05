"""The simulated Messages, count_tokens and models endpoints, through the real SDK (and raw HTTP where
the SDK cannot send the request: no key, no version, a 33 MB body)."""

import asyncio
import json

import anthropic
import httpx2
import pytest
from anthropic.types import Message, MessageTokensCount, ModelInfo
from anthropic.types.shared import ErrorResponse

import labkit
from labkit import backend, tokens
from labkit.sim import SimTransport, counting

MODEL = "claude-haiku-5-5"
ASK = [{"role": "user", "content": "Write research notes on decoherence and the observer effect."}]


pytestmark = pytest.mark.usefixtures("offline")


def raw(method="POST", path="/v1/messages", body=None, headers=None, content=None):
    """An httpx2 response from the simulator, for requests the SDK would never send."""
    base = {"anthropic-version": "2026-10-21", "x-api-key": "sk-test", "content-type": "application/json"}
    with httpx2.Client(transport=SimTransport(backend.simulator()), base_url=backend.SIM_BASE_URL,
                       timeout=None) as http:  # timeouts are API-equivalent: no 5-second default
        return http.request(method, path, headers={**base, **(headers or {})},
                            content=content if content is not None else json.dumps(body or {}).encode())


def error_of(response) -> ErrorResponse:
    assert "request-id" in response.headers
    return ErrorResponse.model_validate(response.json())


# --- the happy path ------------------------------------------------------------------------------

def test_a_message_parses_as_the_sdk_message_type(client):
    response = client.messages.with_raw_response.create(model=MODEL, max_tokens=300, messages=ASK)
    body = Message.model_validate(response.json())
    assert response.headers["request-id"].startswith("req_")
    assert body.id.startswith("msg_01") and len(body.id) == len("msg_") + 24
    assert body.role == "assistant" and body.model == MODEL and body.stop_reason == "end_turn"
    assert body.content[0].type == "text" and "decoherence" in body.content[0].text.lower()
    usage = body.usage
    assert usage.input_tokens == tokens.estimate_request({"model": MODEL, "messages": ASK})
    # Counted piece by piece (sentences), so within a few tokens of counting the whole text at once.
    assert abs(usage.output_tokens - counting.text_tokens(body.content[0].text, 1.3)) <= 0.02 * usage.output_tokens
    assert usage.output_tokens_details.thinking_tokens == 0
    assert usage.cache_read_input_tokens == 0 and usage.service_tier == "standard"


def test_async_client_answers_the_same(client):
    async def main():
        async with labkit.async_client(max_retries=0) as aclient:
            return await aclient.messages.create(model=MODEL, max_tokens=300, messages=ASK)

    answer = asyncio.run(main())
    backend.reset_simulator()
    assert answer.content == labkit.client().messages.create(model=MODEL, max_tokens=300, messages=ASK).content


def test_system_as_string_or_text_blocks_counts_the_same(client):
    text = "You research a podcast about the limits of knowledge."
    as_string = client.messages.create(model=MODEL, max_tokens=50, system=text, messages=ASK)
    as_blocks = client.messages.create(model=MODEL, max_tokens=50, messages=ASK,
                                       system=[{"type": "text", "text": text}])
    assert as_string.usage.input_tokens == as_blocks.usage.input_tokens > 0


def test_the_system_prompt_is_part_of_what_the_answer_is_about(client):
    answer = client.messages.create(model=MODEL, max_tokens=400, system="Our topic: Bayes and base rates.",
                                    messages=[{"role": "user", "content": "Write research notes."}])
    assert "bayes" in answer.content[0].text.lower() or "prior" in answer.content[0].text.lower()


def test_stop_sequence_ends_the_text_and_is_reported(client):
    answer = client.messages.create(model=MODEL, max_tokens=400, messages=ASK, stop_sequences=[". "])
    assert answer.stop_reason == "stop_sequence" and answer.stop_sequence == ". "
    assert ". " not in answer.content[0].text


def test_max_tokens_truncates_at_a_word_boundary(client):
    full = client.messages.create(model=MODEL, max_tokens=2000, messages=ASK).content[0].text
    short = client.messages.create(model=MODEL, max_tokens=20, messages=ASK)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 20
    assert full.startswith(short.content[0].text) and full[len(short.content[0].text)] in " \n"


def test_max_tokens_zero_prewarms_without_output(client):
    answer = client.messages.create(model=MODEL, max_tokens=0, messages=ASK)
    assert answer.content == [] and answer.stop_reason == "max_tokens"
    assert answer.usage.output_tokens == 0 and answer.usage.input_tokens > 0


@pytest.mark.parametrize("extra", [{"stream": True}, {"tool_choice": {"type": "any"}},
                                   {"output_config": {"format": {"type": "json_schema", "schema": {}}}}])
def test_max_tokens_zero_rejects_what_implies_output(extra):
    tools = {"tools": [{"name": "lookup", "input_schema": {"type": "object"}}]} if "tool_choice" in extra else {}
    response = raw(body={"model": MODEL, "max_tokens": 0, "messages": ASK, **extra, **tools})
    assert response.status_code == 400 and "max_tokens: 0" in error_of(response).error.message


def test_multi_turn_conversation_answers_the_new_turn(client):
    first = client.messages.create(model=MODEL, max_tokens=300, messages=ASK)
    turns = [*ASK, {"role": "assistant", "content": first.content},
             {"role": "user", "content": "Now a research note on chaos theory."}]
    second = client.messages.create(model=MODEL, max_tokens=300, messages=turns)
    assert second.content[0].text != first.content[0].text
    assert second.usage.input_tokens > first.usage.input_tokens


# A prefill needs a model that accepts one (data/models.yaml `prefill`): Haiku 4.5 does.
PREFILL_MODEL = "claude-haiku-4-5"


def test_a_final_assistant_turn_is_continued(client):
    prefill = "Here are my notes on decoherence:"
    answer = client.messages.create(model=PREFILL_MODEL, max_tokens=200, messages=[
        *ASK, {"role": "assistant", "content": prefill}])
    assert answer.content[0].text.startswith(" ") and not answer.content[0].text.startswith(prefill)


def test_beta_headers_are_accepted_and_unknown_fields_refused(client):
    answer = client.messages.create(model=MODEL, max_tokens=50, messages=ASK, metadata={"user_id": "u-1"},
                                    extra_headers={"anthropic-beta": "output-300k-2026-03-24"})
    assert answer.stop_reason in ("end_turn", "max_tokens")
    with pytest.raises(anthropic.BadRequestError, match="some_future_field: Extra inputs are not permitted"):
        client.messages.create(model=MODEL, max_tokens=50, messages=ASK, extra_body={"some_future_field": 1})


def _filling(model: str, spare: int) -> str:
    """A prompt that leaves about `spare` tokens of the model's context window."""
    window = backend.simulator().profile(model).context_window
    unit = "Decoherence is discussed here. "
    per_unit = tokens.estimate(unit * 100, model) / 100
    return unit * int((window - spare) / per_unit) + "Write research notes in 3000 words."


def test_output_that_outgrows_the_context_window_stops_with_its_own_reason():
    prompt = _filling("claude-haiku-4-5", spare=2000)
    response = raw(body={"model": "claude-haiku-4-5", "max_tokens": 8000,
                         "messages": [{"role": "user", "content": prompt}]})
    answer = Message.model_validate(response.json())
    assert answer.stop_reason == "model_context_window_exceeded"
    assert answer.usage.input_tokens + answer.usage.output_tokens <= 200_000


def test_a_prompt_longer_than_the_context_window_is_400():
    response = raw(body={"model": "claude-haiku-4-5", "max_tokens": 10,
                         "messages": [{"role": "user", "content": _filling("claude-haiku-4-5", spare=-5000)}]})
    assert response.status_code == 400 and "prompt is too long" in error_of(response).error.message


# --- headers: auth and versions ------------------------------------------------------------------

def test_bearer_and_x_api_key_are_both_accepted(client):
    bearer = client.messages.create(model=MODEL, max_tokens=10, messages=ASK)
    x_api_key = client.messages.create(model=MODEL, max_tokens=10, messages=ASK, extra_headers={
        "Authorization": anthropic.Omit(), "x-api-key": "sk-other"})
    assert bearer.content == x_api_key.content


def test_a_request_without_a_key_is_401():
    response = raw(body={"model": MODEL, "max_tokens": 10, "messages": ASK}, headers={"x-api-key": ""})
    assert response.status_code == 401 and error_of(response).error.type == "authentication_error"


def test_the_sdk_raises_authentication_error_without_a_key(client):
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODEL, max_tokens=10, messages=ASK,
                               extra_headers={"Authorization": anthropic.Omit()})


def test_a_simulator_that_does_not_require_keys_answers_anyway(monkeypatch):
    monkeypatch.setattr(backend.simulator(), "require_key", False)
    assert raw(body={"model": MODEL, "max_tokens": 10, "messages": ASK}, headers={"x-api-key": ""}).status_code == 200


@pytest.mark.parametrize("version, status", [(None, 400), ("2099-01-01", 400), ("2023-06-01", 200)])
def test_the_version_header_is_required_and_checked(version, status):
    headers = {"anthropic-version": version} if version else {}
    base = {"x-api-key": "k", "content-type": "application/json"}
    with httpx2.Client(transport=SimTransport(backend.simulator()), base_url=backend.SIM_BASE_URL,
                       timeout=None) as http:  # timeouts are API-equivalent: no 5-second default
        response = http.post("/v1/messages", headers={**base, **headers},
                             content=json.dumps({"model": MODEL, "max_tokens": 5, "messages": ASK}))
    assert response.status_code == status


@pytest.mark.parametrize("field, value", [("temperature", 1.0), ("top_p", 0.9), ("top_k", 5)])
def test_sampling_parameters_are_removed_in_2026_10_21_but_accepted_in_2023_06_01(client, field, value):
    with pytest.raises(anthropic.BadRequestError, match=f"{field}: Extra inputs are not permitted"):
        client.messages.create(model=MODEL, max_tokens=10, messages=ASK, extra_body={field: value})
    old = client.messages.create(model=MODEL, max_tokens=10, messages=ASK, extra_body={field: value},
                                 extra_headers={"anthropic-version": "2023-06-01"})
    assert old.type == "message"


def test_2023_06_01_still_checks_sampling_ranges(client):
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        client.messages.create(model=MODEL, max_tokens=10, messages=ASK, extra_body={"temperature": 3},
                               extra_headers={"anthropic-version": "2023-06-01"})


def test_2026_10_21_rejects_documents_in_assistant_turns_and_citations_on_user_text(client):
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    with pytest.raises(anthropic.BadRequestError, match="document"):
        client.messages.create(model=MODEL, max_tokens=10, messages=[
            *ASK, {"role": "assistant", "content": [document]}, {"role": "user", "content": "go on"}])
    cited = {"type": "text", "text": "hello", "citations": [{"type": "char_location"}]}
    with pytest.raises(anthropic.BadRequestError, match="citations"):
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": [cited]}])


# --- request validation --------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ({"model": MODEL, "messages": ASK}, "max_tokens: Field required"),
    ({"max_tokens": 10, "messages": ASK}, "model: Field required"),
    ({"model": MODEL, "max_tokens": -1, "messages": ASK}, "max_tokens"),
    ({"model": MODEL, "max_tokens": 10, "messages": []}, "at least one message"),
    ({"model": MODEL, "max_tokens": 10, "messages": [{"role": "system", "content": "hi"}]}, "role"),
    ({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": ""}]}, "non-empty content"),
    ({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text", "text": " "}]}]},
     "non-whitespace text"),
    ({"model": MODEL, "max_tokens": 10, "messages": [*ASK, {"role": "assistant", "content": "So "}]},
     "trailing whitespace"),
    ({"model": MODEL, "max_tokens": 10, "messages": ASK, "system": [{"type": "image"}]}, "system"),
    ({"model": MODEL, "max_tokens": 10, "messages": ASK, "stop_sequences": "END"}, "stop_sequences"),
    ({"model": MODEL, "max_tokens": 999_999, "messages": ASK}, "maximum allowed number of output tokens"),
])
def test_invalid_requests_get_400_invalid_request_error(body, message):
    response = raw(body=body)
    error = error_of(response)
    assert response.status_code == 400 and error.error.type == "invalid_request_error"
    assert message in error.error.message


def test_an_unparseable_body_is_400():
    assert raw(content=b"{not json").status_code == 400


def test_an_unknown_model_is_404_not_found(client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="claude-nope-9", max_tokens=10, messages=ASK)
    assert caught.value.body["error"] == {"type": "not_found_error", "message": "model: claude-nope-9"}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_bodies_over_32_mb_are_413_request_too_large(path):
    response = raw(path=path, content=b" " * (32 * 1024 * 1024 + 1))
    # Not an ErrorResponse the SDK types know: the edge answers before the API (reference §1.5).
    assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"


def test_the_sdk_raises_content_too_large(client):
    with pytest.raises(anthropic.ContentTooLargeError):
        client.messages.create(model=MODEL, max_tokens=10,
                               messages=[{"role": "user", "content": "x " * (17 * 1024 * 1024)}])


def test_a_final_assistant_turn_may_be_empty(client):
    answer = client.messages.create(model=PREFILL_MODEL, max_tokens=30,
                                    messages=[*ASK, {"role": "assistant", "content": []}])
    assert answer.content


# --- count_tokens --------------------------------------------------------------------------------

def test_count_tokens_matches_the_usage_of_the_same_request(client):
    system = "You research a podcast."
    counted = client.messages.with_raw_response.count_tokens(model=MODEL, system=system, messages=ASK)
    MessageTokensCount.model_validate(counted.json())
    used = client.messages.create(model=MODEL, max_tokens=10, system=system, messages=ASK).usage
    assert counted.parse().input_tokens == used.input_tokens == \
        tokens.estimate_request({"model": MODEL, "system": system, "messages": ASK})


def test_count_tokens_applies_the_same_validation_and_version_rules(client):
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        client.messages.count_tokens(model=MODEL, messages=ASK, extra_body={"temperature": 0.5})
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-nope", messages=ASK)
    with pytest.raises(anthropic.BadRequestError, match="not supported"):
        client.messages.count_tokens(model=MODEL, messages=ASK, thinking={"type": "enabled", "budget_tokens": 2048})


def test_count_tokens_counts_tools_and_needs_no_max_tokens(client):
    tool = {"name": "search_corpus", "description": "Search the corpus.", "input_schema": {"type": "object"}}
    bare = client.messages.count_tokens(model=MODEL, messages=ASK).input_tokens
    with_tool = client.messages.count_tokens(model=MODEL, messages=ASK, tools=[tool]).input_tokens
    assert with_tool > bare


# --- models --------------------------------------------------------------------------------------

def test_models_list_pages_through_the_catalogue(client):
    catalogue = backend.simulator().catalog.models
    first = client.models.list(limit=2)
    assert len(first.data) == 2 and first.has_more and first.first_id == first.data[0].id
    every = [m.id for m in client.models.list(limit=2)]  # auto-pagination follows after_id
    assert sorted(every) == sorted(catalogue) and len(every) == len(set(every))
    dated = [m.created_at for m in client.models.list(limit=100).data]
    assert dated == sorted(dated, reverse=True)


def test_model_info_has_the_documented_shape(client):
    response = client.models.with_raw_response.retrieve(MODEL)
    info = ModelInfo.model_validate(response.json())
    profile = backend.simulator().profile(MODEL)
    assert (info.type, info.id, info.display_name) == ("model", MODEL, profile.display_name)
    assert info.max_input_tokens == profile.context_window and info.max_tokens == profile.max_output_tokens
    assert info.created_at.isoformat().startswith("2026-10-07")
    assert response.json()["created_at"].endswith("Z")


def test_an_unknown_model_id_is_404(client):
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope")


def test_models_list_rejects_a_bad_limit():
    assert raw("GET", "/v1/models?limit=0").status_code == 400


def test_every_response_carries_a_request_id(client):
    for response in (raw(body={}), raw("GET", "/v1/models"), raw("GET", "/v1/nowhere")):
        assert response.headers["request-id"].startswith("req_")
