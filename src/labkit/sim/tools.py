"""Client tools: the API's checks on `tools`, `tool_choice` and tool_use/tool_result pairing, and a
documented, deterministic rule for when the simulated model calls a tool and with what input.

When it calls (docs/simulator.md, "Tools"):
- Never without client tools, with `tool_choice: none`, or, under `auto`, when the last user turn
  carries `tool_result` blocks: the model then answers in text from those results.
- `auto`: every tool that the last user turn's own text *names* is called, best match first. A turn
  names a tool by its exact name, by any word of its name, or by two or more words of its description
  (names split at `_`, `-` and camelCase; words compared after dropping -ing/-ed/-es/-s; stop words,
  name words under 3 letters and description words under 4 letters ignored).
- `any`: the tools the turn names, or the first tool if it names none. `tool`: the named tool.
- A called tool that takes free text (a required string without enum or default) gets one call per
  concept the turn names, in parallel, as a model fans out lookups; `disable_parallel_tool_use`
  keeps the first call only.
What it sends: every *required* property, from the schema's `const`/`default`, else an `enum` value
the turn mentions (else the first), else text in double quotes, the concept's name or the turn's
first words for strings, the first number within bounds for numbers, `true`, one-item arrays and
nested objects built the same way. Server tools (typed, without `input_schema`) are accepted, never run.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from .. import tokens
from .content import Concept
from .wire import invalid

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
CHOICES = ("auto", "any", "tool", "none")
STOP_WORDS = frozenset(
    "a about after all also an and any are as at be by call can do does each for from get given has have "
    "how if in into is it its make of on or run set some such than that the their them then these this "
    "those to tool tools use used uses using via what when which who will with you your".split())
SUFFIXES = ("ing", "ed", "es", "s")
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
QUOTE_WORDS = 40


@dataclasses.dataclass(frozen=True)
class Call:
    name: str
    input: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Result:
    """One tool_result of the last user turn, with the name of the tool that produced it."""

    name: str
    text: str
    is_error: bool


def check(params: dict[str, Any]) -> None:
    """The 400s the API gives for malformed tools, tool_choice, or unpaired tool_use/tool_result."""
    names = _check_tools(params.get("tools"))
    _check_choice(params.get("tool_choice"), names, bool(params.get("tools")))
    _check_pairing(params["messages"], bool(params.get("tools")))


def _check_tools(tools: Any) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise invalid(f"tools.{i}.name: Field required")
        if not TOOL_NAME.match(tool["name"]):
            raise invalid(f"tools.{i}.name: String should match pattern '{TOOL_NAME.pattern}'")
        if is_client(tool):
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise invalid(f"tools.{i}.custom.input_schema: Field required")
            if schema.get("type") != "object":
                raise invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
            names.append(tool["name"])
    every = [t["name"] for t in tools]
    if len(set(every)) != len(every):
        raise invalid("tools: Tool names must be unique.")
    return names


def _check_choice(choice: Any, client_names: list[str], has_tools: bool) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in CHOICES:
        raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if not has_tools:
        raise invalid("tool_choice may only be specified while providing tools.")
    if choice["type"] == "tool" and choice.get("name") not in client_names:
        raise invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools")


def _check_pairing(messages: list[dict], has_tools: bool) -> None:
    """Each tool_use must be answered by a tool_result in the next message, and each tool_result must
    answer a tool_use of the previous one (error wording as the API words it)."""
    for i, message in enumerate(messages):
        blocks = _blocks(message)
        if not has_tools and any(b.get("type") in ("tool_use", "tool_result") for b in blocks):
            raise invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
        if message["role"] == "user":
            asked = _ids(messages[i - 1], "tool_use", "id") if i else []
            for j, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                    raise invalid(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message.")
        if message["role"] == "assistant" and i + 1 < len(messages):
            missing = [t for t in _ids(message, "tool_use", "id")
                       if t not in _ids(messages[i + 1], "tool_result", "tool_use_id")]
            if missing:
                raise invalid(
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message.")


def _blocks(message: dict) -> list[dict]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _ids(message: dict, kind: str, field: str) -> list[str]:
    return [b.get(field) for b in _blocks(message) if b.get("type") == kind]


def is_client(tool: dict) -> bool:
    """A tool the client runs (custom), as opposed to a server tool such as web search."""
    return tool.get("type") in (None, "custom") or "input_schema" in tool


def results(messages: list[dict]) -> list[Result]:
    """The tool results the last message carries, named after the calls they answer."""
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return []
    names = {b.get("id"): b.get("name", "tool") for b in _blocks(messages[-2]) if b.get("type") == "tool_use"}
    return [Result(names.get(b.get("tool_use_id"), "tool"), tokens.block_text(b), bool(b.get("is_error")))
            for b in _blocks(messages[-1]) if b.get("type") == "tool_result"]


def calls(params: dict[str, Any], turn_text: str, concepts: Sequence[Concept], answered: bool) -> list[Call]:
    """The tool calls the model makes for the last user turn (empty: it answers in text)."""
    client = [t for t in params.get("tools") or () if is_client(t)]
    choice = params.get("tool_choice") or {"type": "auto"}
    if not client or choice["type"] == "none" or (choice["type"] == "auto" and answered):
        return []
    if choice["type"] == "tool":
        chosen = [t for t in client if t["name"] == choice["name"]]
    else:
        chosen = _named(client, turn_text) or (client[:1] if choice["type"] == "any" else [])
    made = [call for tool in chosen for call in _calls_for(tool, turn_text, concepts)]
    return made[:1] if choice.get("disable_parallel_tool_use") else made


def _named(client: list[dict], text: str) -> list[dict]:
    """The tools the text names, best match first (ties keep the request's order)."""
    said = _terms(text, 1)
    scored = []
    for index, tool in enumerate(client):
        literal = _mentions(text, tool["name"])
        name_hits = len(_terms(tool["name"], 3) & said)
        description_hits = len((_terms(tool.get("description") or "", 4) - _terms(tool["name"], 3)) & said)
        if literal or name_hits or description_hits >= 2:
            scored.append((-(100 * literal + 2 * name_hits + description_hits), index, tool))
    return [tool for *_, tool in sorted(scored, key=lambda item: item[:2])]


def _terms(text: str, min_length: int) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower()
    words = re.findall(r"[a-z0-9]+", spaced)
    return {_stem(w) for w in words if len(w) >= min_length and w not in STOP_WORDS}


def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _calls_for(tool: dict, text: str, concepts: Sequence[Concept]) -> list[Call]:
    schema = tool["input_schema"]
    if len(concepts) >= 2 and _takes_free_text(schema):
        return [Call(tool["name"], build_input(schema, text, c)) for c in concepts]
    return [Call(tool["name"], build_input(schema, text, concepts[0] if concepts else None))]


def _takes_free_text(schema: dict) -> bool:
    props = schema.get("properties") or {}
    required = [props[name] for name in schema.get("required") or () if name in props]
    return any(_type(prop) == "string" and not {"enum", "default", "const"} & set(prop) for prop in required)


def build_input(schema: dict, text: str, concept: Concept | None) -> dict[str, Any]:
    """A tool input holding every required property of `schema`, drawn from the prompt where it can be."""
    props = schema.get("properties") or {}
    return {name: _value(props.get(name) or {}, text, concept) for name in schema.get("required") or ()}


def _value(prop: dict, text: str, concept: Concept | None) -> Any:
    for fixed in ("const", "default"):
        if fixed in prop:
            return prop[fixed]
    if prop.get("enum"):
        return next((v for v in prop["enum"] if _mentions(text, str(v))), prop["enum"][0])
    kind = _type(prop)
    if kind == "object":
        return build_input(prop, text, concept)
    if kind == "array":
        return [_value(prop.get("items") or {}, text, concept)]
    if kind in ("integer", "number"):
        return _number(prop, text, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(text, concept)


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", text.lower()) is not None


def _type(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), None)
    return kind


def _number(prop: dict, text: str, kind: str) -> int | float:
    low, high = prop.get("minimum", float("-inf")), prop.get("maximum", float("inf"))
    for match in NUMBER.finditer(text):
        value = float(match.group())
        if low <= value <= high and (kind == "number" or value.is_integer()):
            return int(value) if kind == "integer" else value
    fallback = prop.get("minimum", 1)
    return int(fallback) if kind == "integer" else float(fallback)


def _string(text: str, concept: Concept | None) -> str:
    quoted = QUOTED.search(text)
    if quoted:
        return quoted.group(1) or quoted.group(2)
    if concept is not None:
        return concept.name
    return " ".join(text.split()[:8]).strip(" ?.!:;,") or "request"


def preamble(made: Sequence[Call]) -> str:
    """What the model says before calling tools on its own initiative (`auto`)."""
    names = list(dict.fromkeys(call.name for call in made))
    return f"I'll use {' and '.join(names)} to look into this."


def lead_in(answered: Sequence[Result]) -> str:
    """The opening of a text answer that draws on the tool results it was given."""
    parts = []
    for result in answered:
        quote = " ".join(result.text.split()[:QUOTE_WORDS]) or "no content"
        if result.is_error:
            parts.append(f"The {result.name} call failed ({quote}), so this draws on what is known.")
        else:
            parts.append(f"According to {result.name}: {quote}")
    return " ".join(parts)
