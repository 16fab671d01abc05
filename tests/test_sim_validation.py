"""What the simulator accepts and refuses as the real API does: mid-conversation system messages,
unknown fields and blocks, image media types, cache lifetimes, prefills and thinking signatures; the
Claude Code CLI's own requests; `HEAD /`; and token counts of images, tools and earlier thinking."""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
import typing
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import anthropic
import anthropic.types as sdk
import anthropic.types.beta as beta_sdk
import pytest
from anthropic.types import anthropic_beta_param, base64_image_source_param
from PIL import Image

from labkit import tokens
from labkit.backend import SIM_API_KEY
from labkit.clock import SimClock
from labkit.sim import SimAPI, counting, validation
from labkit.sim.server import running
from labkit.sim.wire import APIError, SimRequest

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURES = Path("/work/brief")
HAIKU = "claude-haiku-5-5"
ASK = [{"role": "user", "content": "Write research notes on decoherence."}]
MID_SYSTEM = {"anthropic-beta": validation.MID_CONVERSATION_SYSTEM}
TOOL = {"name": "search_corpus", "description": "Search the research corpus for a topic.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}


def post(api: SimAPI, body: Any, path: str = "/v1/messages", **headers: str):
    """One request straight to the simulator, for bodies the SDK's types would not build."""
    base = {"x-api-key": SIM_API_KEY, "anthropic-version": "2026-10-21", "content-type": "application/json"}
    return api.handle(SimRequest("POST", path, {**base, **headers}, json.dumps(body).encode()))


def refused(api: SimAPI, body: Any, path: str = "/v1/messages", **headers: str) -> str:
    """The message of the 400 invalid_request_error the simulator answers `body` with."""
    response = post(api, body, path, **headers)
    assert response.status == 400, response.body
    assert response.body["error"]["type"] == "invalid_request_error"
    return response.body["error"]["message"]


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": HAIKU, "max_tokens": 200, "messages": ASK, **extra}


def png(width: int, height: int) -> bytes:
    """A real (grey, 8-bit) PNG file, built with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": encoded(data)}}


def pillow(kind: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


# --- the tables are the SDK's ------------------------------------------------------------------------

def _keys(params: type) -> set[str]:
    return set(params.__required_keys__ | params.__optional_keys__)


def _tags(union: Any) -> list[str]:
    """The `type` literal of each block (TypedDict or response model) in a content-block union, in order."""
    out: list[str] = []
    for member in typing.get_args(union):
        if typing.get_origin(member) in (typing.Union, typing.Annotated):
            out += _tags(member if typing.get_origin(member) is typing.Union else typing.get_args(member)[0])
            continue
        kind = (member.model_fields["type"].annotation if hasattr(member, "model_fields")
                else typing.get_type_hints(member, include_extras=True)["type"])
        while typing.get_origin(kind) is not typing.Literal:
            kind = typing.get_args(kind)[0]
        out.append(typing.get_args(kind)[0])
    return list(dict.fromkeys(out))


def test_allowed_fields_and_blocks_are_the_sdks_request_types() -> None:
    headers_not_fields = {"user_profile_id", "workspace_id", "betas"}
    stable = _keys(sdk.message_create_params.MessageCreateParamsBase) - headers_not_fields
    assert validation.MESSAGES_FIELDS == stable | {"stream"}
    assert validation.COUNT_FIELDS == _keys(sdk.MessageCountTokensParams) - headers_not_fields
    beta = _keys(beta_sdk.message_create_params.MessageCreateParamsBase) - headers_not_fields
    assert set(validation.BETA_FIELDS) == beta - stable
    beta_count = _keys(beta_sdk.MessageCountTokensParams) - headers_not_fields
    assert validation.COUNT_BETA_FIELDS == beta_count - validation.COUNT_FIELDS
    assert list(validation.BLOCK_TYPES) == _tags(sdk.ContentBlockParam)
    assert set(validation.BETA_BLOCKS) == set(_tags(beta_sdk.BetaContentBlockParam)) - set(validation.BLOCK_TYPES)
    media = typing.get_type_hints(base64_image_source_param.Base64ImageSourceParam)["media_type"]
    assert validation.IMAGE_MEDIA_TYPES == typing.get_args(media)
    known = set(typing.get_args(typing.get_args(anthropic_beta_param.AnthropicBetaParam)[1]))
    named = {b for needs in (*validation.BETA_FIELDS.values(), *validation.BETA_BLOCKS.values()) for b in needs}
    assert named <= known


# --- mid-conversation system messages ----------------------------------------------------------------

SYSTEM_TURN = [{"role": "user", "content": "Write research notes."},
               {"role": "system", "content": "Focus on decoherence."}]


def test_a_system_turn_is_accepted_with_its_beta_and_honoured(api_client: anthropic.Anthropic) -> None:
    answer = api_client.messages.create(model=HAIKU, max_tokens=300, messages=SYSTEM_TURN, extra_headers=MID_SYSTEM)
    assert "decoherence" in answer.content[0].text.lower()
    plain = api_client.messages.create(model=HAIKU, max_tokens=300, messages=SYSTEM_TURN[:1])
    assert "decoherence" not in plain.content[0].text.lower()
    # Counted like system text: its words plus one message's framing.
    extra = counting.text_tokens("Focus on decoherence.", 1.3) + tokens.MESSAGE_OVERHEAD
    assert answer.usage.input_tokens == plain.usage.input_tokens + extra


def test_without_its_beta_a_system_turn_is_the_role_error(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.1\.role: Input should be 'user' or 'assistant'"):
        api_client.messages.create(model=HAIKU, max_tokens=300, messages=SYSTEM_TURN)


@pytest.mark.parametrize("messages, message", [
    ([{"role": "system", "content": "Be brief."}, *ASK], "cannot be the first message"),
    ([*ASK, {"role": "assistant", "content": "Notes."}, {"role": "system", "content": "Be brief."}],
     "must immediately follow a user message"),
    ([*ASK, {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Go on."}],
     "must be the last message or be followed by an assistant message"),
    ([*ASK, {"role": "system", "content": "Be brief."}, {"role": "system", "content": "Be kind."}],
     "consecutive system messages"),
    ([*ASK, {"role": "system", "content": [image(png(2, 2))]}], "messages.1.content.0.type: Input should be 'text'"),
])
def test_a_system_turn_must_be_placed_and_shaped_as_the_docs_say(api: SimAPI, messages, message) -> None:
    assert message in refused(api, ask(messages=messages), **MID_SYSTEM)


# --- unknown fields and blocks -----------------------------------------------------------------------

def test_unknown_top_level_fields_are_extra_inputs(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="^.*verbosity: Extra inputs are not permitted"):
        api_client.messages.create(**ask(), extra_body={"verbosity": "low"})
    with pytest.raises(anthropic.BadRequestError, match="betas: Extra inputs are not permitted"):
        api_client.messages.create(**ask(), extra_body={"betas": ["context-management-2025-06-27"]})


def test_a_beta_field_needs_its_beta_header(api_client: anthropic.Anthropic) -> None:
    management = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    with pytest.raises(anthropic.BadRequestError, match="context_management: Extra inputs are not permitted"):
        api_client.messages.create(**ask(), extra_body={"context_management": management})
    answer = api_client.messages.create(**ask(), extra_body={"context_management": management},
                                        extra_headers={"anthropic-beta": "context-management-2025-06-27"})
    assert answer.type == "message"


def test_count_tokens_refuses_max_tokens(api: SimAPI) -> None:
    assert refused(api, ask(), "/v1/messages/count_tokens") == "max_tokens: Extra inputs are not permitted"


def test_an_unknown_block_type_is_a_tag_error(api_client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": [{"type": "widget", "text": "x"}]}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        api_client.messages.create(model=HAIKU, max_tokens=50, messages=messages)
    message = caught.value.body["error"]["message"]
    assert message.startswith("messages.0.content.0: Input tag 'widget' found using 'type' does not match any "
                              "of the expected tags: 'text', 'image', 'document'")


def test_a_beta_block_needs_its_beta_header(api: SimAPI) -> None:
    compaction = {"type": "compaction", "content": "Earlier: notes on decoherence."}
    body = ask(messages=[{"role": "user", "content": [compaction, {"type": "text", "text": "Go on."}]}])
    assert "Input tag 'compaction'" in refused(api, body)
    assert post(api, body, **{"anthropic-beta": "compact-2026-01-12"}).status == 200


# --- images ----------------------------------------------------------------------------------------------

def test_image_media_types_are_the_four_the_api_takes(api_client: anthropic.Anthropic) -> None:
    bmp = {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": encoded(png(2, 2))}}
    messages = [{"role": "user", "content": [bmp, {"type": "text", "text": "What is this?"}]}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        api_client.messages.create(model=HAIKU, max_tokens=50, messages=messages)
    assert caught.value.body["error"]["message"] == (
        "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
        "'image/gif' or 'image/webp'")


def test_image_data_must_be_an_image_of_its_media_type(api: SimAPI) -> None:
    labelled_jpeg = ask(messages=[{"role": "user", "content": [image(png(2, 2), "image/jpeg")]}])
    assert refused(api, labelled_jpeg) == (
        "messages.0.content.0.image.source.base64.data: Image does not match the provided media type image/jpeg")
    assert refused(api, ask(messages=[{"role": "user", "content": [image(b"not an image")]}])) == \
        "Could not process image"


@pytest.mark.parametrize("kind, media_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
                                              ("WEBP", "image/webp")])
def test_image_headers_give_the_real_dimensions(kind: str, media_type: str) -> None:
    assert counting.image_size(pillow(kind, 321, 123)) == (media_type, 321, 123)
    assert counting.image_header(encoded(pillow(kind, 40, 30))) == (media_type, 40, 30)


def test_webp_lossless_and_extended_headers() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (77, 55), (1, 2, 3, 128)).save(out, format="WEBP", lossless=True)
    assert counting.image_size(out.getvalue()) == ("image/webp", 77, 55)
    extended = b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x0a\x00\x00\x00" + b"\x00" * 4 + \
        (999).to_bytes(3, "little") + (499).to_bytes(3, "little")
    assert counting.image_size(extended) == ("image/webp", 1000, 500)
    assert counting.image_size(b"\x89PNG\r\n\x1a\n") is None  # cut short


def test_images_are_counted_by_pixels(api_client: anthropic.Anthropic) -> None:
    def input_tokens(data: bytes) -> int:
        content = [image(data), {"type": "text", "text": "Describe this image."}]
        messages = [{"role": "user", "content": content}]
        return api_client.messages.count_tokens(model=HAIKU, messages=messages).input_tokens

    small, large = input_tokens(png(300, 150)), input_tokens(png(600, 300))
    assert large - small == 240 - 60  # 600 x 300 / 750 and 300 x 150 / 750
    assert small - input_tokens(png(1, 1)) == 60 - 1
    # Over the limits an image is scaled down first: about 1,600 tokens at most, whatever its size.
    assert input_tokens(png(3000, 2000)) - input_tokens(png(1, 1)) == 1599 - 1
    url = {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png"}}
    assert counting.image_tokens(url) == counting.UNSEEN_IMAGE_TOKENS


# --- cache lifetimes ---------------------------------------------------------------------------------

def test_a_1h_breakpoint_may_not_follow_a_5m_one(api: SimAPI) -> None:
    def body(first: str, second: str) -> dict[str, Any]:
        marker = {"type": "ephemeral", "ttl": first}
        system = [{"type": "text", "text": "You research a podcast.", "cache_control": marker}]
        text = {"type": "text", "text": "Write notes.", "cache_control": {"type": "ephemeral", "ttl": second}}
        return ask(system=system, messages=[{"role": "user", "content": [text]}])

    assert refused(api, body("5m", "1h")) == (
        "messages.0.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' "
        "cache_control block. Blocks are processed in the following order: `tools`, `system`, `messages`.")
    assert post(api, body("1h", "5m")).status == 200
    automatic = ask(tools=[{**TOOL, "cache_control": {"type": "ephemeral"}}],
                    cache_control={"type": "ephemeral", "ttl": "1h"})
    assert refused(api, automatic).startswith("cache_control.ttl: a ttl='1h'")


# --- prefill -----------------------------------------------------------------------------------------

def test_a_prefill_is_refused_on_models_without_prefill(api: SimAPI) -> None:
    params = ask(messages=[*ASK, {"role": "assistant", "content": "Notes:"}])
    refusing = [p for p in api.catalog.models.values() if not p.prefill]
    accepting = [p for p in api.catalog.models.values() if p.prefill]
    assert refusing and accepting
    with pytest.raises(APIError, match="This model does not support assistant message prefill. "
                                       "The conversation must end with a user message."):
        validation.check_prefill(params, refusing[0])
    validation.check_prefill(params, accepting[0])
    validation.check_prefill(ask(), refusing[0])


# --- thinking signatures -----------------------------------------------------------------------------

def thought(api: SimAPI) -> list[dict[str, Any]]:
    """The content of an answer that thought first (its thinking block signed by the simulator)."""
    blocks = post(api, ask(max_tokens=8000, thinking={"type": "adaptive"}, output_config={"effort": "high"})).body
    assert blocks["content"][0]["type"] == "thinking"
    return blocks["content"]


def test_a_tampered_thinking_signature_is_refused(api: SimAPI) -> None:
    blocks = thought(api)
    follow_up = [*ASK, {"role": "assistant", "content": blocks}, {"role": "user", "content": "Shorter, please."}]
    assert post(api, ask(messages=follow_up)).status == 200
    tampered = copy.deepcopy(follow_up)
    signature = tampered[1]["content"][0]["signature"]
    tampered[1]["content"][0]["signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert refused(api, ask(messages=tampered)) == "messages.1.content.0: Invalid `signature` in `thinking` block"
    redacted = copy.deepcopy(follow_up)
    redacted[1]["content"][0] = {"type": "redacted_thinking", "data": "opaque, never checked"}
    assert post(api, ask(messages=redacted)).status == 200


# --- the Claude Code CLI's captured requests -----------------------------------------------------------

@pytest.mark.parametrize("name", ["000.json", "001.json", "002.json"])
def test_the_cli_requests_validate_and_are_answered(api: SimAPI, name: str) -> None:
    capture = json.loads((CAPTURES / name).read_text())
    body = capture["body"] if isinstance(capture["body"], dict) else json.loads(capture["body"])
    headers = {k.lower(): v for k, v in capture["headers"].items()}
    validation.check_body(copy.deepcopy(body), headers["anthropic-version"], betas=validation.betas(headers))
    response = api.handle(SimRequest(capture["method"], capture["path"], headers, json.dumps(body).encode(),
                                     capture.get("query") or {}))
    assert response.status == 200, response.body
    assert response.events is not None if body.get("stream") else response.body["type"] == "message"


# --- HEAD / over HTTP --------------------------------------------------------------------------------

def test_head_is_answered_200_without_a_body() -> None:
    api = SimAPI(seed=0, data_dir=DATA, clock=SimClock(include_creator=False))
    with running(api) as server:
        request = urllib.request.Request(server.url + "/", method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and response.read() == b""
            assert response.headers["Content-Length"] == "0"
        # The connection is still good for a real request.
        client = anthropic.Anthropic(base_url=server.url, api_key="sk-test", max_retries=0)
        assert client.messages.create(**ask(max_tokens=20)).content


# --- token counts ------------------------------------------------------------------------------------

def test_tools_add_the_tool_use_system_prompt(api_client: anthropic.Anthropic) -> None:
    def count(**extra: Any) -> int:
        return api_client.messages.count_tokens(model=HAIKU, messages=ASK, **extra).input_tokens

    definition = counting.text_tokens(json.dumps(TOOL, sort_keys=True), 1.3)
    assert count(tools=[TOOL]) - count() == definition + 346
    assert count(tools=[TOOL], tool_choice={"type": "any"}) - count() == definition + 313


def test_earlier_turns_thinking_is_stripped_and_the_current_turns_counts(api: SimAPI) -> None:
    block = {"type": "thinking", "thinking": "Decoherence first, then the observer effect. " * 20,
               "signature": thought(api)[0]["signature"]}
    earlier = [*ASK, {"role": "assistant", "content": [block, {"type": "text", "text": "Notes."}]},
               {"role": "user", "content": "Shorter."}]
    bare = [*ASK, {"role": "assistant", "content": [{"type": "text", "text": "Notes."}]},
            {"role": "user", "content": "Shorter."}]
    assert counting.request_tokens({"messages": earlier}, 1.3) == counting.request_tokens({"messages": bare}, 1.3)
    call = {"type": "tool_use", "id": "toolu_01", "name": "search_corpus", "input": {"query": "decoherence"}}
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "found"}]}
    current = [*ASK, {"role": "assistant", "content": [block, call]}, result]
    without = [*ASK, {"role": "assistant", "content": [call]}, result]
    assert counting.request_tokens({"messages": current}, 1.3) > counting.request_tokens({"messages": without}, 1.3)


def test_count_tokens_equals_the_usage_of_the_same_request(api_client: anthropic.Anthropic) -> None:
    first = api_client.messages.create(model=HAIKU, max_tokens=8000, messages=ASK, tools=[TOOL],
                                       thinking={"type": "adaptive"}, output_config={"effort": "high"})
    earlier = [b.model_dump(exclude_none=True) for b in first.content if b.type != "tool_use"]
    messages = [*ASK, {"role": "assistant", "content": earlier},
                {"role": "user", "content": [image(png(400, 300)), {"type": "text", "text": "And this chart?"}]}]
    params = {"model": HAIKU, "system": "You research a podcast.", "messages": messages, "tools": [TOOL],
              "thinking": {"type": "adaptive"}}
    counted = api_client.messages.count_tokens(**params).input_tokens
    usage = api_client.messages.create(max_tokens=8000, **params).usage
    assert counted == usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
