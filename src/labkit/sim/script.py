"""Scripted sessions: a YAML file that says what the simulated model answers, turn by turn, so a
demo or a test of a real client (the Claude Code CLI, an agent framework) runs exactly as written.

    fallback: policy            # unmatched requests: the simulator's own answer (default), or `error`
    turns:
      - when: {contains: "notes.txt"}
        reply: {tool: Read, input: {file_path: /work/notes.txt}}
      - when: {after_tool: Read}
        reply: {text: "The notes begin with a greeting."}

Each request is answered by the first turn, in file order, that still has uses left (`times`,
default 1) and whose conditions all hold:
- `contains` / `matches`: the last turn is the user's, and its own text (harness blocks such as
  `<system-reminder>` cut out, as `tools.own_text` reads it) contains this text (case-insensitive) /
  matches this regular expression (`re.search`);
- `request: N`: this is the Nth Messages request the session has seen (1-based, counting every
  request that reached the answer, matched or not);
- `after_tool: NAME`: the last turn carries a tool_result for a call of the tool NAME;
- `format: true|false` (default false): whether the request asks for structured output
  (`output_config.format`). The default keeps a client's side requests, such as the CLI's session
  title, from using up the turns of the conversation.
A turn whose reply calls tools also needs the request to offer them (and `tool_choice` not `none`).
A reply is `text`, a `tool` with its `input`, both (the text comes first), or `calls`, a list of
{tool, input} made at once. It replaces what the policy would generate (no thinking block); usage,
latency, streaming, rate limits and the prompt cache work as for any answer.

A request no turn matches gets the simulator's normal answer (`fallback: policy`, so a client's
unscripted requests still work), or a 400 naming the request (`fallback: error`, for a test that
must notice a request the script did not foresee). The session is shared state, like the prompt
cache: which turn answers depends on the order requests arrive in, so run scripted clients one
request at a time.

Errors in the file are `ScriptError`s that name the file and line.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ..errors import DataError
from . import tools
from .wire import invalid

FALLBACKS = ("policy", "error")
TURN_KEYS = ("when", "reply", "times")
WHEN_KEYS = ("contains", "matches", "request", "after_tool", "format")
REPLY_KEYS = ("text", "tool", "input", "calls")


class ScriptError(DataError):
    """A session script that cannot be read: the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class When:
    """The conditions of one turn (None: not asked)."""

    contains: str | None = None
    matches: re.Pattern[str] | None = None
    request: int | None = None
    after_tool: str | None = None
    format: bool = False


@dataclasses.dataclass(frozen=True)
class Turn:
    """One scripted reply and when it is given."""

    when: When
    text: str | None
    calls: tuple[tools.Call, ...]
    times: int


@dataclasses.dataclass(frozen=True)
class Script:
    """A parsed session script (immutable: `Session` plays it)."""

    source: str
    turns: tuple[Turn, ...]
    fallback: str

    @classmethod
    def load(cls, path: Path | str) -> Script:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"cannot read the session script {path}: {exc.strerror}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<script>") -> Script:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise ScriptError(f"{source}:{line}: not valid YAML: {exc.problem or exc.context}") from None
        return _Reader(source).script(root)


class _Reader:
    """Turns the YAML node tree into a `Script`, naming the line of anything wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node | None, message: str) -> ScriptError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ScriptError(f"{self.source}:{line}: {message}")

    def script(self, root: yaml.Node | None) -> Script:
        top = self.mapping(root, "a session script", ("turns", "fallback"))
        if "turns" not in top:
            raise self.fail(root, "a session script needs `turns:`, a list of scripted turns")
        fallback = self.scalar(top["fallback"][1], str, "fallback") if "fallback" in top else "policy"
        if fallback not in FALLBACKS:
            raise self.fail(top["fallback"][1], f"fallback must be one of {', '.join(FALLBACKS)}, not {fallback!r}")
        node = top["turns"][1]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, "`turns:` must be a non-empty list of turns")
        return Script(self.source, tuple(self.turn(item, i + 1) for i, item in enumerate(node.value)), fallback)

    def turn(self, node: yaml.Node, number: int) -> Turn:
        what = f"turn {number}"
        fields = self.mapping(node, what, TURN_KEYS)
        if "reply" not in fields:
            raise self.fail(node, f"{what} has no `reply:`")
        times = self.scalar(fields["times"][1], int, f"{what}: times") if "times" in fields else 1
        if times < 1:
            raise self.fail(fields["times"][1], f"{what}: times must be at least 1")
        when = self.when(fields["when"][1], what) if "when" in fields else When()
        text, calls = self.reply(fields["reply"][1], what)
        return Turn(when, text, calls, times)

    def when(self, node: yaml.Node, what: str) -> When:
        fields = self.mapping(node, f"{what}: when", WHEN_KEYS)
        values: dict[str, Any] = {}
        for key, kind in (("contains", str), ("after_tool", str), ("request", int), ("format", bool)):
            if key in fields:
                values[key] = self.scalar(fields[key][1], kind, f"{what}: when.{key}")
        if values.get("request", 1) < 1:
            raise self.fail(fields["request"][1], f"{what}: when.request counts from 1")
        if "matches" in fields:
            pattern = self.scalar(fields["matches"][1], str, f"{what}: when.matches")
            try:
                values["matches"] = re.compile(pattern)
            except re.error as exc:
                raise self.fail(fields["matches"][1], f"{what}: when.matches is not a regular expression "
                                                      f"({exc})") from None
        return When(**values)

    def reply(self, node: yaml.Node, what: str) -> tuple[str | None, tuple[tools.Call, ...]]:
        fields = self.mapping(node, f"{what}: reply", REPLY_KEYS)
        text = self.scalar(fields["text"][1], str, f"{what}: reply.text") if "text" in fields else None
        if text is not None and not text.strip():
            raise self.fail(fields["text"][1], f"{what}: reply.text is empty")
        if "tool" in fields and "calls" in fields:
            raise self.fail(node, f"{what}: a reply has `tool:` or `calls:`, not both")
        if "input" in fields and "tool" not in fields:
            raise self.fail(fields["input"][0], f"{what}: reply.input belongs with reply.tool")
        if "tool" in fields:
            calls: tuple[tools.Call, ...] = (self.call(node, fields, f"{what}: reply"),)
        elif "calls" in fields:
            items = fields["calls"][1]
            if not isinstance(items, yaml.SequenceNode) or not items.value:
                raise self.fail(items, f"{what}: reply.calls must be a non-empty list of {{tool, input}}")
            calls = tuple(self.call(item, self.mapping(item, f"{what}: a call", ("tool", "input")),
                                    f"{what}: reply.calls.{i}") for i, item in enumerate(items.value))
        else:
            calls = ()
        if text is None and not calls:
            raise self.fail(node, f"{what}: a reply needs `text:`, `tool:` or `calls:`")
        return text, calls

    def call(self, node: yaml.Node, fields: dict[str, tuple[yaml.Node, yaml.Node]], what: str) -> tools.Call:
        if "tool" not in fields:
            raise self.fail(node, f"{what} has no `tool:`")
        name = self.scalar(fields["tool"][1], str, f"{what}.tool")
        if not tools.TOOL_NAME.match(name):
            raise self.fail(fields["tool"][1], f"{what}.tool: {name!r} is not a tool name")
        payload = self.value(fields["input"][1]) if "input" in fields else {}
        if not isinstance(payload, dict):
            raise self.fail(fields["input"][1], f"{what}.input must be a mapping of the tool's inputs")
        return tools.Call(name, payload)

    def mapping(self, node: yaml.Node | None, what: str,
                allowed: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping node's entries by key (key node, value node), refusing unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                raise self.fail(key, f"{what}: unknown key {name!r} (expected one of {', '.join(allowed)})")
            if name in fields:
                raise self.fail(key, f"{what}: {name!r} is given twice")
            fields[name] = (key, value)
        return fields

    def scalar(self, node: yaml.Node, kind: type, what: str) -> Any:
        value = self.value(node)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(node, f"{what} must be {'a' if kind is not int else 'an'} {_KIND_NAMES[kind]}")
        return value

    def value(self, node: yaml.Node) -> Any:
        return yaml.SafeLoader("").construct_object(node, deep=True)


_KIND_NAMES = {str: "string", int: "integer", bool: "boolean (true or false)"}


class Session:
    """A script being played: how many requests it has seen and how often each turn was used.
    Thread-safe: a server answers requests from many threads."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._lock = threading.Lock()
        self._requests = 0
        self._used: Counter[int] = Counter()

    def unused(self) -> list[int]:
        """The turns (numbered from 1) not yet used as often as their `times`: [] once the whole
        script has been played, which is how a test knows a session ran exactly as scripted."""
        with self._lock:
            return [i + 1 for i, turn in enumerate(self.script.turns) if self._used[i] < turn.times]

    def reply(self, params: dict[str, Any]) -> Turn | None:
        """The turn that answers this request (None: the policy answers), or the fallback's 400."""
        with self._lock:
            self._requests += 1
            for index, turn in enumerate(self.script.turns):
                if self._used[index] < turn.times and _holds(turn, params, self._requests):
                    self._used[index] += 1
                    return turn
            number = self._requests
        if self.script.fallback == "error":
            said = _last_words(params["messages"])
            raise invalid(f"no turn of the session script {self.script.source} matches request {number}"
                          + (f" (last user text: {said[:80]!r})" if said else ""))
        return None


def _holds(turn: Turn, params: dict[str, Any], number: int) -> bool:
    when = turn.when
    said = _last_words(params["messages"])
    if when.format != bool((params.get("output_config") or {}).get("format")):
        return False
    if when.request is not None and when.request != number:
        return False
    if when.contains is not None and when.contains.lower() not in said.lower():
        return False
    if when.matches is not None and not when.matches.search(said):
        return False
    if when.after_tool is not None and when.after_tool not in {r.name for r in tools.results(params["messages"])}:
        return False
    return not turn.calls or _offered(params, {call.name for call in turn.calls})


def _last_words(messages: list[dict]) -> str:
    """The own text of the last turn, if it is the user's ("" otherwise)."""
    turns = tools.dialogue(messages)
    return tools.own_text(turns[-1]) if turns else ""


def _offered(params: dict[str, Any], names: set[str]) -> bool:
    choice = (params.get("tool_choice") or {}).get("type", "auto")
    client = {t["name"] for t in params.get("tools") or () if tools.is_client(t)}
    return choice != "none" and names <= client
