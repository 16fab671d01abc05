"""Token counts inside the simulator, bound to one model's tokenizer ratio.

Text is counted with `labkit.tokens`' formula (cl100k BPE x the model's ratio, plus a per-message
framing overhead), taking the ratio from the simulator's own catalogue instead of looking the model up
in the global configuration on every call (that lookup dominated the request path). On top of text,
the API's own accounting (reference §5, §6; vision and tool-use pricing docs):

- **Images** cost about width x height / 750 tokens, read from the image's real dimensions (its file
  header), after the API's downscaling; never their base64 text.
- **Tools** add the tool-use system prompt the API inserts whenever `tools` is non-empty.
- **`role: "system"` messages** are counted like the top-level system text: their text plus framing.
- **Earlier turns' thinking** (thinking and redacted_thinking blocks before the current turn) is
  stripped from the context, so it counts neither in `input_tokens` nor against the context window
  (reference §6: "Earlier-turn thinking blocks are stripped from context-window accounting"; §5:
  count_tokens ignores them). The current turn — everything after the last user message that is not
  only tool results, i.e. a tool-use loop in progress — keeps its thinking, which counts. One number
  serves usage, count_tokens and the context-window check, so they always agree.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from .. import tokens

# The tool-use system prompt, in tokens, by `tool_choice` type (auto/none vs any/tool).
# Source: claudecodeguides.com/claude-tool-definitions-346-tokens-per-call (read 2026-11), quoting the
# pricing docs' figures for the current Claude 4.x models; the docs' stored copies only list Claude 3
# figures (docs.anthropic.com/en/docs/tool-use-pricing-and-tokens). ASSUMPTION: applied unchanged to
# every model, the 5.5 models included (none is published for them). To move to data/models.yaml.
TOOL_PROMPT_TOKENS = {"auto": 346, "none": 346, "any": 313, "tool": 313}

# Vision docs (docs.anthropic.com/en/docs/vision, read 2026-11): "tokens = (width px * height px)/750";
# an image whose long edge is over 1568 px, or over ~1,600 tokens, is first scaled down, preserving
# its aspect ratio. ASSUMPTION for the 5.5 models: the same limits (Opus 4.7 raised the long edge to
# 2576 px, per claudecodecamp.com; no figure is published for 5.5). To move to data/models.yaml.
PIXELS_PER_TOKEN = 750
MAX_LONG_EDGE = 1568
MAX_IMAGE_TOKENS = 1600
# ASSUMPTION: a URL or Files-API image cannot be looked at offline; it is taken to be full size.
UNSEEN_IMAGE_TOKENS = MAX_IMAGE_TOKENS
# Base64 characters decoded to find a header; a JPEG's frame header can lie further in (after EXIF
# data), and then the whole image is decoded.
HEADER_CHARS = 64 * 1024
THINKING = ("thinking", "redacted_thinking")


@functools.lru_cache(maxsize=1 << 16)
def text_tokens(text: str, ratio: float) -> int:
    """Estimated tokens of `text` for a model whose tokenizer counts `ratio` x cl100k tokens (cached:
    answers are made of corpus sentences, counted over and over)."""
    if not text:
        return 0
    return round(tokens.bpe_count(text) * ratio)


def request_tokens(params: Mapping[str, Any], ratio: float) -> int:
    """Input tokens of a Messages request: tools (and their system prompt), system and messages."""
    total = tools_tokens(params, ratio)
    system = params.get("system")
    if system:
        total += content_tokens(system, ratio)
    messages = params.get("messages") or ()
    current = current_turn(messages)
    for i, message in enumerate(messages):
        total += content_tokens(message.get("content", ""), ratio, strip_thinking=i < current)
    return total


def tools_tokens(params: Mapping[str, Any], ratio: float) -> int:
    """The tool definitions as JSON text, plus the tool-use system prompt when there are any."""
    tools = params.get("tools") or ()
    if not tools:
        return 0
    choice = params.get("tool_choice")
    kind = choice.get("type", "auto") if isinstance(choice, Mapping) else "auto"
    prompt = TOOL_PROMPT_TOKENS.get(kind, TOOL_PROMPT_TOKENS["auto"])
    return prompt + sum(text_tokens(json.dumps(tool, sort_keys=True, default=str), ratio) for tool in tools)


def content_tokens(content: Any, ratio: float, *, strip_thinking: bool = False) -> int:
    """One message's (or the system prompt's) tokens: its text, its images, and the framing overhead."""
    text, images = _split(content, strip_thinking)
    return text_tokens(text, ratio) + images + tokens.MESSAGE_OVERHEAD


def current_turn(messages: Sequence[Mapping[str, Any]]) -> int:
    """Index of the last user message with words of its own (not only tool results): where the turn
    being answered starts. Thinking blocks before it belong to earlier turns."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        body = message.get("content")
        if message.get("role") == "user" and (
                isinstance(body, str) or any(_kind(b) != "tool_result" for b in body or ())):
            return i
    return 0


def _split(content: Any, strip_thinking: bool, joiner: str = "\n") -> tuple[str, int]:
    """(the countable text, joined as `tokens.content_text` and `tokens.block_text` join it, and the
    image tokens)."""
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    images = 0
    for block in content:
        kind = _kind(block)
        if strip_thinking and kind in THINKING:
            continue
        if kind == "image":
            images += image_tokens(block)
            texts.append("")
        elif kind == "tool_result" and isinstance(block.get("content"), list):
            inner, inner_images = _split(block["content"], strip_thinking, " ")
            texts.append(inner)
            images += inner_images
        else:
            texts.append(tokens.block_text(block))
    return joiner.join(texts), images


def _kind(block: Any) -> str | None:
    return block.get("type") if isinstance(block, Mapping) else None


def image_tokens(block: Mapping[str, Any]) -> int:
    """Tokens of an image block, from its pixels after the API's downscaling (vision docs)."""
    source = block.get("source") or {}
    if source.get("type") != "base64":
        return UNSEEN_IMAGE_TOKENS
    found = image_header(source.get("data") or "")
    if found is None:  # validation rejects such an image before anything is counted
        return UNSEEN_IMAGE_TOKENS
    _, width, height = found
    scale = min(1.0, MAX_LONG_EDGE / max(width, height),
                math.sqrt(MAX_IMAGE_TOKENS * PIXELS_PER_TOKEN / (width * height)))
    width, height = max(1, int(width * scale)), max(1, int(height * scale))
    return max(1, math.ceil(width * height / PIXELS_PER_TOKEN))


@functools.lru_cache(maxsize=256)
def image_header(data: str) -> tuple[str, int, int] | None:
    """(media type, width, height) of a base64-encoded PNG, JPEG, GIF or WebP, read from its header;
    None if the data is not one of them (or not base64)."""
    head = "".join(data[:HEADER_CHARS].split())
    try:
        found = image_size(base64.b64decode(head[:len(head) - len(head) % 4]))
        if found is None and len(data) > HEADER_CHARS and head.startswith("/9j/"):  # a JPEG, read on
            found = image_size(base64.b64decode("".join(data.split())))
    except binascii.Error:
        return None
    return found


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(media type, width, height) from the first bytes of an image file; None if they are not a
    complete PNG, GIF, WebP or JPEG header."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "image/png", width, height
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return "image/gif", width, height
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
    except struct.error:  # a header cut short
        return None
    return None


def _webp(data: bytes) -> tuple[str, int, int] | None:
    """The three WebP bitstreams (developers.google.com/speed/webp/docs/riff_container)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: 14-bit sizes after the start code
        width, height = struct.unpack("<HH", data[26:30])
        return "image/webp", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":  # lossless: 14-bit (size - 1) fields, packed
        bits = int.from_bytes(data[21:25], "little")
        return "image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:  # extended: 24-bit (canvas size - 1)
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "image/webp", width, height
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> tuple[str, int, int] | None:
    """Walk the JPEG segments to the first start-of-frame header."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return "image/jpeg", width, height
        at += 2 + length
    return None
