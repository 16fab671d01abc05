"""Client tools: the API's checks on `tools`, `tool_choice` and tool_use/tool_result pairing, and the
deterministic policy that decides when the simulated model calls a tool, with what input, and what
it does once the results come back. docs/simulator.md ("Tools") states the same rule for lessons.

What the request asks (`read_turn`, `steps`):
- The *instruction* is the user's own latest words: the latest user message that still has text
  once harness blocks (`<system-reminder>`, `<task-notification>`, `<command-name>`: what the Claude
  Code CLI injects) are cut out. Those blocks, the system prompt and `role: "system"` messages are
  context (they give the working directory), never an instruction.
- The instruction falls into *steps*: at sentence ends, `;`, new lines, "then", and at "and" or a
  comma followed by an action verb ("read a.txt and run `ls`"; "read a.txt and b.txt" stays one).
  A step's *verb* is its first word after lead-ins (please, can you, first, ...; "look up" and the
  like count as one word).

Which tool a step calls (`_best`): each tool is scored against the step,
    verb points (3: the verb's action is a word of the tool's name; 2: it is the first word of the
    tool's description; 4: "use/call <exact tool name>") + 2 per word of the tool's name and 1 per
    word of its description's first sentence that the step also says + 2 per input grounded in the
    step (a quoted span, a path, a URL, a number, an enum value it names).
Verbs are compared by action (read/open/show/view/cat; run/execute; search/find/grep; list/ls/glob;
write/create/save; edit/modify/replace/update; fetch/download), other words as themselves. A tool is
callable only if every required input can be filled; without a verb match it must also be named in
the step (a word of its name), take no command-like input, and have all its inputs grounded, at least
one. The highest score of at least `MIN_SCORE` wins, ties in request order; a step with no such tool
is answered in text. One call per step, except that several values for the winner's first filled
input (paths, URLs, quoted spans, concepts: "read a.txt and b.txt") give one call each.

What it sends (`_Filler`): every *required* property: `const`/`default`; an `enum` value the step
names (else the first); a path for a path-like property (made absolute against the working directory
when the schema says "absolute"); a URL for a URL property; for a command-like one (command, code,
content, `*_string`, ...) only a back-quoted or quoted span, else the tool is not called; for other
strings a quoted span, else the first concept named, else the step's remaining words; numbers in
bounds; `true`; one-item arrays; nested objects the same way. Nothing is ever cut from context.

Multi-step: one step per turn, in order. After results the next step's calls are made; when none is
left, or a result is an error, the model answers in text that reports the results (`lead_in`).
"in parallel" (or "at the same time", "simultaneously", "concurrently", "at once") makes every step's
calls at once. `any` forces the next step's calls, else the first tool; `tool` forces the named tool.
Server tools (typed, without `input_schema`) are accepted and never run.
"""

from __future__ import annotations

import dataclasses
import ntpath
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any

from .. import tokens
from .content import Concept
from .wire import invalid

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
CHOICES = ("auto", "any", "tool", "none")
STOP_WORDS = frozenset(
    "a about after all also an and any are as at be by call can do does each for from get given has have "
    "how if in into is it its make of on or set some such than that the their them then these this "
    "those to tool tools use used uses using via what when which who will with you your".split())
# What the Claude Code CLI wraps around text it adds to user turns (the capture's user turn, and its
# system prompt: "`<system-reminder>` tags ... are injected by the harness, not the user"; its tool
# descriptions name <task-notification> and <command-name> turns).
HARNESS = re.compile(r"<(system-reminder|task-notification|command-name)>.*?</\1>", re.DOTALL)
# The CLI's environment section: "Primary working directory: /x" (2.1.197), "Working directory: /x"
# inside `<env>` (earlier versions).
WORKING_DIRECTORY = re.compile(r"^[\s>*-]*(?:primary\s+)?working directory:\s*(\S+)",
                               re.IGNORECASE | re.MULTILINE)
SPAN = re.compile(r"`([^`\n]+)`|\"([^\"\n]+)\"|“([^”\n]+)”|(?<!\w)'([^'\n]+)'(?!\w)")
URL = re.compile(r"^https?://\S+$")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9'_-]*")
FILE_NAME = re.compile(r"^[\w.-]*\w\.[A-Za-z][A-Za-z0-9]{0,7}$")
NOT_PATHS = frozenset({"e.g", "i.e", "etc"})
# Where one step ends and the next begins (outside quoted spans, which are masked first).
STEP_BREAK = re.compile(r"(?<=[.!?])\s+|[;\n]+|,?\s*\b(?:and\s+)?then\b,?", re.IGNORECASE)
# Joints that start a new step only when an action verb follows.
JOINT = re.compile(r",\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)
LEAD_INS = frozenset(
    "please can could would will you kindly now first firstly also next finally just and then so ok okay "
    "i i'd want like to go ahead".split())
# Synonymous action verbs (ASSUMPTION: the usual English words for what agent tools do).
ACTIONS = {
    "read": ("read", "open", "show", "view", "display", "cat", "print"),
    "run": ("run", "running", "execute", "exec"),
    "search": ("search", "find", "grep", "lookup", "locate", "query"),
    "list": ("list", "ls", "glob"),
    "write": ("write", "create", "save"),
    "edit": ("edit", "modify", "change", "replace", "update"),
    "fetch": ("fetch", "download", "retrieve"),
}
# Two-word verbs, read as the one word they mean.
PHRASAL = {("look", "up"): "lookup", ("look", "for"): "search", ("look", "at"): "view"}
EXPLICIT = ("use", "call", "invoke", "try")
PARALLEL = re.compile(r"\bin parallel\b|\bat the same time\b|\bsimultaneously\b|\bconcurrently\b|\bat once\b",
                      re.IGNORECASE)
# The last word of a property's name says what it holds.
PATH_WORDS = frozenset({"path", "file", "filename", "dir", "directory", "folder"})
URL_WORDS = frozenset({"url", "uri", "link", "href"})
VERBATIM_WORDS = frozenset({"command", "cmd", "code", "script", "content", "contents", "source", "body",
                            "patch", "string"})
FILLER = frozenset("the a an and then for about on of in to with me my our some this that it its please".split())
MIN_SCORE = 4
QUOTE_WORDS = 40


@dataclasses.dataclass(frozen=True)
class Call:
    name: str
    input: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Result:
    """One tool_result, with the name of the tool that produced it."""

    name: str
    text: str
    is_error: bool


@dataclasses.dataclass(frozen=True)
class Turn:
    """Where the conversation stands: the user's latest own words, how many tool-call turns the
    model has taken since, every tool result since, and whether the latest results hold an error."""

    instruction: str
    steps_done: int
    results: tuple[Result, ...]
    failed: bool


# --- the API's checks ------------------------------------------------------------------------------

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
    """Each tool_use must be answered by a tool_result in the next message, those results must open
    that message, and each tool_result must answer a tool_use of the previous one. The wording is the
    real API's, as clients quote it (anthropics/claude-code#37, #1577; apify/tester-mcp-client#12).
    `role: "system"` messages sit between turns without breaking a pair (ASSUMPTION: the
    mid-conversation-system beta documents no pairing rule of its own)."""
    turns = [(i, m) for i, m in enumerate(messages) if m.get("role") != "system"]
    for k, (i, message) in enumerate(turns):
        blocks = _blocks(message)
        if not has_tools and any(b.get("type") in ("tool_use", "tool_result") for b in blocks):
            raise invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
        previous = turns[k - 1][1] if k else None
        if message["role"] == "user":
            asked = _ids(previous, "tool_use", "id") if previous is not None else []
            for j, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                    raise invalid(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message.")
        if message["role"] == "assistant" and k + 1 < len(turns):
            answer_at, answer = turns[k + 1]
            asked = _ids(message, "tool_use", "id")
            missing = [t for t in asked if t not in _ids(answer, "tool_result", "tool_use_id")]
            if missing:
                raise invalid(
                    f"messages.{answer_at}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message.")
            opening = _blocks(answer)[:len(asked)]
            if asked and not all(b.get("type") == "tool_result" for b in opening):
                raise invalid(
                    f"messages.{answer_at}: Did not find {len(asked)} `tool_result` block(s) at the beginning "
                    "of this message. Messages following `tool_use` blocks must begin with a matching "
                    "number of `tool_result` blocks.")


def _blocks(message: dict) -> list[dict]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _ids(message: dict, kind: str, field: str) -> list[str]:
    return [b.get(field) for b in _blocks(message) if b.get("type") == kind]


def is_client(tool: dict) -> bool:
    """A tool the client runs (custom), as opposed to a server tool such as web search."""
    return tool.get("type") in (None, "custom") or "input_schema" in tool


# --- what the request asks -------------------------------------------------------------------------

def own_text(message: dict) -> str:
    """The words a user message says itself: its text, without harness blocks (empty for any other
    role, and for a turn of bare tool results)."""
    if message.get("role") != "user":
        return ""
    body = message.get("content")
    text = body if isinstance(body, str) else "\n".join(
        b["text"] for b in _blocks(message) if b.get("type") == "text" and isinstance(b.get("text"), str))
    return HARNESS.sub("", text).strip()


def dialogue(messages: list[dict]) -> list[dict]:
    """The user and assistant turns: `role: "system"` messages are context, not turns."""
    return [m for m in messages if m.get("role") != "system"]


def read_turn(messages: list[dict]) -> Turn:
    """Where the conversation stands (see `Turn`)."""
    turns = dialogue(messages)
    start = next((i for i in range(len(turns) - 1, -1, -1) if own_text(turns[i])), -1)
    since = turns[start + 1:]
    done = sum(1 for m in since if m["role"] == "assistant" and _ids(m, "tool_use", "id"))
    found = [_results_in(m, turns) for m in since if m["role"] == "user"]
    latest = found[-1] if found and since[-1]["role"] == "user" else []
    return Turn(own_text(turns[start]) if start >= 0 else "", done,
                tuple(r for results in found for r in results), any(r.is_error for r in latest))


def results(messages: list[dict]) -> list[Result]:
    """The tool results the last turn carries, named after the calls they answer."""
    turns = dialogue(messages)
    return _results_in(turns[-1], turns[-2:-1]) if len(turns) >= 2 and turns[-1]["role"] == "user" else []


def _results_in(message: dict, callers: list[dict]) -> list[Result]:
    """A user turn's tool results, named after the calls in `callers` they answer; harness blocks
    are cut out of their text."""
    names = {b.get("id"): b.get("name", "tool") for m in callers for b in _blocks(m) if b.get("type") == "tool_use"}
    return [Result(names.get(b.get("tool_use_id"), "tool"), HARNESS.sub("", tokens.block_text(b)).strip(),
                   bool(b.get("is_error"))) for b in _blocks(message) if b.get("type") == "tool_result"]


def working_directory(params: dict[str, Any]) -> str | None:
    """The client's working directory, as the system prompt (or a system-role message) states it."""
    system = params.get("system") or ""
    texts = [system if isinstance(system, str) else "\n".join(b.get("text", "") for b in system),
             *(tokens.content_text(m.get("content") or "") for m in params["messages"] if m.get("role") == "system")]
    for text in texts:
        found = WORKING_DIRECTORY.search(text)
        if found and _absolute(found.group(1)):
            return found.group(1).rstrip(".,;")
    return None


def _absolute(path: str) -> bool:
    return posixpath.isabs(path) or re.match(r"^[A-Za-z]:[\\/]", path) is not None


@dataclasses.dataclass(frozen=True)
class Item:
    """Explicit material in a step, in the order the step gives it: a quoted span ("quote"), a
    back-quoted one ("code"), a path, a URL or a number. `is_path`: a path, or a span holding one."""

    kind: str
    value: str
    is_path: bool = False


@dataclasses.dataclass(frozen=True)
class Step:
    """One action the instruction asks for: its text, its verb, whether it is a question (ends in
    "?" without opening "can/could/would/will you"), the roots of the words after the verb, its
    explicit items, the concepts it names, and its plain words after the verb."""

    text: str
    verb: str
    question: bool
    roots: frozenset[str]
    items: tuple[Item, ...]
    concepts: tuple[Concept, ...]
    words: tuple[str, ...]


def steps(instruction: str, verbs: frozenset[str], find: Callable[[str], Sequence[Concept]]) -> list[Step]:
    """The instruction's steps, in order (`verbs`: the actions that start a new step after "and" or a
    comma; quoted and back-quoted spans are masked first, so they are never split)."""
    masked, spans = _mask(instruction)
    return [_step(part, spans, find) for piece in STEP_BREAK.split(masked)
            for part in _cut_at_verbs(piece or "", verbs) if part.strip(" ,.!?:")]


def _mask(text: str) -> tuple[str, list[re.Match[str]]]:
    spans = list(SPAN.finditer(text))
    for i, span in reversed(list(enumerate(spans))):
        text = text[:span.start()] + f"\x00{i}\x00" + text[span.end():]
    return text, spans


def _cut_at_verbs(piece: str, verbs: frozenset[str]) -> list[str]:
    parts, start = [], 0
    for joint in JOINT.finditer(piece):
        following = WORD.match(piece, joint.end())
        if following and _action(following.group()) in verbs:
            parts.append(piece[start:joint.start()])
            start = joint.end()
    return [*parts, piece[start:]]


def _step(masked: str, spans: list[re.Match[str]], find: Callable[[str], Sequence[Concept]]) -> Step:
    items: list[Item] = []
    words: list[str] = []
    for token in masked.split():
        for chunk in re.split(r"(\x00\d+\x00)", token):
            placeholder = re.fullmatch(r"\x00(\d+)\x00", chunk)
            if placeholder:
                span = spans[int(placeholder.group(1))]
                value = next(g for g in span.groups() if g is not None)
                items.append(Item("code" if span.group(1) is not None else "quote", value, _is_path(value)))
            elif chunk:
                _read_token(chunk, items, words)
    text = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))].group(), masked).strip()
    lowered = [w.lower() for w in words]
    at = next((i for i, w in enumerate(lowered) if w not in LEAD_INS), len(lowered))
    verb = lowered[at] if at < len(lowered) else ""
    phrasal = PHRASAL.get((verb, lowered[at + 1] if at + 1 < len(lowered) else ""))
    verb, after = (phrasal, at + 2) if phrasal else (verb, at + 1)
    polite = lowered[:2] in (["can", "you"], ["could", "you"], ["would", "you"], ["will", "you"])
    roots = frozenset(_root(w) for w in lowered[after:] if len(w) >= 3 and w not in STOP_WORDS and w not in LEAD_INS)
    return Step(text, verb, text.endswith("?") and not polite, roots, tuple(items), tuple(find(text)),
                tuple(words[after:]))


def _read_token(token: str, items: list[Item], words: list[str]) -> None:
    """Sort one unquoted token into a URL, a path, numbers or plain words."""
    bare = token.strip(",;:!?()[]{}<>\"'").rstrip(".")
    if URL.match(bare):
        items.append(Item("url", bare))
    elif _is_path(bare):
        items.append(Item("path", bare, True))
    else:
        items.extend(Item("number", n) for n in NUMBER.findall(token))
        words.extend(WORD.findall(token))


def _is_path(value: str) -> bool:
    if not value or " " in value or "://" in value or "@" in value or value.lower() in NOT_PATHS:
        return False
    if "/" in value:
        return value != "/" and re.search(r"[\w.]", value) is not None
    return FILE_NAME.match(value) is not None


def _root(word: str) -> str:
    """A word without its inflection, the same for each form of a verb (reads, reading -> read)."""
    word = word.lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


ACTION_OF = {_root(word): action for action, words in ACTIONS.items() for word in words}
PATH_ROOTS, URL_ROOTS, VERBATIM_ROOTS = ({_root(w) for w in kind} for kind in (PATH_WORDS, URL_WORDS, VERBATIM_WORDS))


def _action(word: str) -> str:
    """The action a verb names: its synonym group, else its own root."""
    root = _root(word)
    return ACTION_OF.get(root, root)


# --- which tool a step calls -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Purpose:
    """What a tool is for, read from its name and the first sentence of its description: the roots
    of their words, the actions its name words name, and the action of the summary's first word."""

    tool: dict
    name_roots: frozenset[str]
    summary_roots: frozenset[str]
    actions: frozenset[str]
    summary_action: str | None


def purpose(tool: dict) -> Purpose:
    names = [w for w in _name_words(tool["name"]) if len(w) >= 2 and w not in STOP_WORDS]
    summary = re.split(r"(?<=[.!?])\s|\n", (tool.get("description") or "").strip(), maxsplit=1)[0]
    said = [w.lower() for w in WORD.findall(summary)]
    first = next((w for w in said if w not in STOP_WORDS), None)
    return Purpose(tool, frozenset(_root(w) for w in names),
                   frozenset(_root(w) for w in said if len(w) >= 4 and w not in STOP_WORDS),
                   frozenset(_action(w) for w in names), _action(first) if first else None)


def calls(params: dict[str, Any], turn: Turn, find: Callable[[str], Sequence[Concept]]) -> list[Call]:
    """The tool calls the model makes now (empty: it answers in text)."""
    client = [t for t in params.get("tools") or () if is_client(t)]
    choice = params.get("tool_choice") or {"type": "auto"}
    if not client or choice["type"] == "none":
        return []
    cwd = working_directory(params)
    purposes = [purpose(t) for t in client]
    ahead = [] if turn.failed else plan(purposes, turn.instruction, cwd, find)[turn.steps_done:]
    made = ahead[0] if ahead else []
    if choice["type"] == "tool":
        forced = next(p for p in purposes if p.tool["name"] == choice["name"])
        made = [c for c in made if c.name == choice["name"]] or [_forced(forced, turn.instruction, cwd, find)]
    elif choice["type"] == "any" and not made:
        made = [_forced(purposes[0], turn.instruction, cwd, find)]
    return made[:1] if choice.get("disable_parallel_tool_use") else made


def plan(purposes: list[Purpose], instruction: str, cwd: str | None,
         find: Callable[[str], Sequence[Concept]]) -> list[list[Call]]:
    """The calls of each turn the instruction needs, in order (all in one turn when it asks for
    them in parallel)."""
    verbs = {*ACTIONS, *map(_action, EXPLICIT), *(a for p in purposes for a in p.actions),
             *(p.summary_action for p in purposes if p.summary_action)}
    turns = [made for step in steps(instruction, frozenset(verbs), find) if (made := _best(purposes, step, cwd))]
    if len(turns) > 1 and PARALLEL.search(instruction):
        return [[call for made in turns for call in made]]
    return turns


def _best(purposes: list[Purpose], step: Step, cwd: str | None) -> list[Call]:
    """The calls of the best-scoring callable tool for one step (none if no score reaches
    `MIN_SCORE`; ties go to the tool listed first)."""
    best: tuple[int, list[Call]] | None = None
    for candidate in purposes:
        scored = _score(candidate, step, cwd)
        if scored is not None and scored[0] >= MIN_SCORE and (best is None or scored[0] > best[0]):
            best = scored
    return best[1] if best else []


def _score(candidate: Purpose, step: Step, cwd: str | None) -> tuple[int, list[Call]] | None:
    """The tool's score for the step and the calls it would make, or None if it cannot be called."""
    verb = 0
    if not step.question and step.verb:
        action = _action(step.verb)
        explicit = step.verb in EXPLICIT and re.search(
            rf"(?<![\w-]){re.escape(candidate.tool['name'])}(?![\w-])", step.text) is not None
        verb = 4 if explicit else 3 if action in candidate.actions else 2 if action == candidate.summary_action else 0
    named = step.roots & candidate.name_roots
    overlap = 2 * len(named) + len((step.roots & candidate.summary_roots) - named)
    filler = _Filler(step, cwd, forced=False, own=candidate.name_roots | candidate.summary_roots)
    made = filler.input(candidate.tool["input_schema"])
    if made is None:
        return None
    if not verb and not (named and filler.grounded and not filler.loose and not filler.verbatim):
        return None
    return verb + overlap + 2 * filler.grounded, filler.fan_out(candidate.tool["name"], made)


def _forced(candidate: Purpose, instruction: str, cwd: str | None,
            find: Callable[[str], Sequence[Concept]]) -> Call:
    """A call `tool_choice` forces: what the whole instruction grounds, empty strings for the rest."""
    masked, spans = _mask(instruction)
    filler = _Filler(_step(masked, spans, find), cwd, forced=True, own=candidate.name_roots)
    return Call(candidate.tool["name"], filler.input(candidate.tool["input_schema"]) or {})


class _Unfilled(Exception):
    """A required input the step gives nothing for."""


class _Filler:
    """Builds one tool input from a step, taking each explicit item at most once. It counts the
    inputs the step grounded and the top-level ones it did not (`loose`: filled from a concept, the
    step's words or a fallback, not from the schema), and remembers the first top-level input fed
    from an item or a concept, which further values of the same kind fan out over."""

    def __init__(self, step: Step, cwd: str | None, forced: bool, own: frozenset[str]) -> None:
        self.step = step
        self.cwd = cwd
        self.forced = forced
        self.own = own
        self.used: set[int] = set()
        self.grounded = 0
        self.loose = 0
        self.verbatim = False
        self.spread: tuple[str, str, Item | None, dict] | None = None  # (property, pool, first item, schema)

    def input(self, schema: dict) -> dict[str, Any] | None:
        try:
            return self._object(schema, top=True)
        except _Unfilled:
            return None

    def _object(self, schema: dict, top: bool = False) -> dict[str, Any]:
        props = schema.get("properties") or {}
        out = {}
        for name in schema.get("required") or ():
            prop = _plain(props.get(name) or {})
            before = self.grounded
            out[name] = self._value(name, prop, top)
            self.loose += top and self.grounded == before and not {"const", "default"} & set(prop)
        return out

    def _value(self, name: str, prop: dict, top: bool) -> Any:
        for fixed in ("const", "default"):
            if fixed in prop:
                return prop[fixed]
        if prop.get("enum"):
            named = next((v for v in prop["enum"] if _mentions(self.step.text, str(v))), None)
            self.grounded += named is not None
            return prop["enum"][0] if named is None else named
        kind = _type(prop)
        if kind == "object":
            return self._object(prop)
        if kind == "array":
            return [self._value(name, _plain(prop.get("items") or {}), False)]
        if kind in ("integer", "number"):
            return self._number(prop, kind)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(name, prop, top)

    def _string(self, name: str, prop: dict, top: bool) -> str:
        last = _root((_name_words(name) or [""])[-1])
        absolute = "absolute" in (prop.get("description") or "").lower()
        if last in PATH_ROOTS:
            return self._take(name, prop, top, "path", lambda v: self._path(v, absolute))
        if last in URL_ROOTS:
            return self._take(name, prop, top, "url", str)
        if last in VERBATIM_ROOTS:
            self.verbatim = True
            return self._take(name, prop, top, "code", str)
        if self._next("quote") is not None:
            return self._take(name, prop, top, "quote", str)
        if self.step.concepts:
            if top and self.spread is None:
                self.spread = (name, "concept", None, prop)
            return self.step.concepts[0].name
        rest = self._remaining_words()
        if rest or self.forced:
            return rest
        raise _Unfilled(name)

    def _take(self, name: str, prop: dict, top: bool, pool: str, convert: Callable[[str], str]) -> str:
        index = self._next(pool)
        if index is None:
            if self.forced:
                return ""
            raise _Unfilled(name)
        value = convert(self.step.items[index].value)
        self.used.add(index)
        self.grounded += 1
        if top and self.spread is None:
            self.spread = (name, pool, self.step.items[index], prop)
        return value

    def _next(self, pool: str, like: Item | None = None) -> int | None:
        """The first unused item a pool takes (paths: a path or a span holding one; URLs; code: a
        back-quoted span, else a quoted one; quote: a quoted span), or one of the same kind as `like`."""
        for kinds in POOLS[pool]:
            for i, item in enumerate(self.step.items):
                fits = item.is_path if pool == "path" else item.kind in kinds
                if i not in self.used and fits and (like is None or item.kind == like.kind):
                    return i
        return None

    def _path(self, value: str, absolute: bool) -> str:
        """The path as the tool needs it: made absolute against the working directory when the
        schema asks for an absolute path (no working directory known: not callable)."""
        if not absolute or _absolute(value):
            return value
        if self.cwd is None or value.startswith("~"):
            if self.forced:
                return value
            raise _Unfilled(value)
        module = ntpath if re.match(r"^[A-Za-z]:\\", self.cwd) else posixpath
        return module.normpath(module.join(self.cwd, value))

    def _number(self, prop: dict, kind: str) -> int | float:
        low, high = prop.get("minimum", float("-inf")), prop.get("maximum", float("inf"))
        for i, item in enumerate(self.step.items):
            if item.kind != "number" or i in self.used:
                continue
            value = float(item.value)
            if low <= value <= high and (kind == "number" or value.is_integer()):
                self.used.add(i)
                self.grounded += 1
                return int(value) if kind == "integer" else value
        fallback = prop.get("minimum", 1)
        return int(fallback) if kind == "integer" else float(fallback)

    def _remaining_words(self) -> str:
        """The step's plain words after its verb, less the tool's own words, trimmed of filler."""
        words = [w for w in self.step.words if _root(w) not in self.own]
        while words and words[0].lower() in FILLER:
            words.pop(0)
        while words and words[-1].lower() in FILLER:
            words.pop()
        return " ".join(words)

    def fan_out(self, name: str, made: dict[str, Any]) -> list[Call]:
        """One call, or one per further value of the same kind the step gives for the first input
        filled from an item or a concept (several paths, URLs, spans or concepts)."""
        first = [Call(name, made)]
        if self.spread is None:
            return first
        prop, pool, like, schema = self.spread
        if like is None:
            return first + [Call(name, {**made, prop: c.name}) for c in self.step.concepts[1:]]
        absolute = "absolute" in (schema.get("description") or "").lower()
        more = []
        while (index := self._next(pool, like)) is not None:
            self.used.add(index)
            value = self.step.items[index].value
            try:
                more.append(Call(name, {**made, prop: self._path(value, absolute) if pool == "path" else value}))
            except _Unfilled:
                continue
        return first + more


POOLS = {"path": (("path",),), "url": (("url",),), "code": (("code",), ("quote",)), "quote": (("quote",),)}


def _name_words(name: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).lower())


def _plain(prop: dict) -> dict:
    """A property schema with `anyOf`/`oneOf` resolved to its first non-null alternative."""
    for key in ("anyOf", "oneOf"):
        options = [o for o in prop.get(key) or () if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            merged = {k: v for k, v in prop.items() if k != key}
            return {**options[0], **merged}
    return prop


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", text.lower()) is not None


def _type(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), None)
    return kind


# --- what the model says ---------------------------------------------------------------------------

def preamble(made: Sequence[Call]) -> str:
    """What the model says before calling tools on its own initiative (`auto`)."""
    names = list(dict.fromkeys(call.name for call in made))
    return f"I'll use {' and '.join(names)} to look into this."


def lead_in(answered: Sequence[Result]) -> str:
    """The opening of a text answer that reports the tool results it was given: the first line of
    each, at most `QUOTE_WORDS` words (an error is reported as a failure, and the model stops there)."""
    parts = []
    for result in answered:
        line = next((ln for ln in result.text.splitlines() if ln.strip()), "")
        quote = " ".join(line.split()[:QUOTE_WORDS]) or "no content"
        if result.is_error:
            parts.append(f"The {result.name} call failed ({quote.rstrip('.')}).")
        else:
            parts.append(f"According to {result.name}: {quote}" + ("" if quote[-1] in ".!?" else "."))
    return " ".join(parts)
