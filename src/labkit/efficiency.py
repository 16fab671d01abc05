"""Token efficiency (activity 6): data formats, a prompt lint, extractive compression, the schema tax.

- `encode(records, fmt)`: the same records as prose, JSON, compact JSON, YAML, TOON (the
  `toon-format` package) or CSV, so their token counts can be compared per model family.
- `lint(prompt)` finds filler phrases and repeated instructions; `tighten(prompt)` removes them.
- `compress(text, keep=..., budget=...)`: extractive compression that keeps every line naming a
  required element first, then others while the budget lasts; `truncate` is the naive cut it is
  measured against (it keeps the start, whatever it holds).
- `schema_tax(client, request)`: what a request's tool definitions cost in input tokens, counted by
  the API's own count_tokens (the simulator's offline, exact live).

Plainly: the cheapest token is the one not sent, but only if what the task needs is still there.
Every function here is measured in lesson 06 against quality, never on token counts alone.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import tokens
from .errors import UsageError

__all__ = ["BASELINE", "FILLER", "FORMATS", "Finding", "Recipe", "compress", "encode", "lint", "research_brief",
           "schema_tax", "tighten", "truncate"]

FORMATS = ("prose", "json", "compact json", "yaml", "toon", "csv")
# Phrases that add tokens and no instruction (ASSUMPTION: the course's list, from common prompt habits).
FILLER = ("I would like you to ", "please ", "kindly ", "could you ", "make sure to ", "it is important that you ",
          "basically ", "really ", "very ", "just ", "in order to ")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def encode(records: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """`records` (a list of flat dicts with the same keys) in format `fmt` (one of FORMATS)."""
    rows = [dict(r) for r in records]
    if not rows or any(set(r) != set(rows[0]) for r in rows):
        raise UsageError("encode needs a non-empty list of records with the same keys")
    if fmt == "prose":
        return "\n".join("; ".join(f"{k} is {v}" for k, v in r.items()) + "." for r in rows)
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "compact json":
        return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(rows, sort_keys=False, allow_unicode=True)
    if fmt == "toon":
        from toon_format import encode as toon

        return str(toon({"records": rows}))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    raise UsageError(f"format is one of {', '.join(FORMATS)}, got {fmt!r}")


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str   # "filler" or "repeated"
    text: str


def lint(prompt: str) -> list[Finding]:
    """Filler phrases and sentences that repeat an earlier instruction (compared without case and
    punctuation)."""
    found = [Finding("filler", phrase.strip()) for phrase in FILLER if phrase.lower() in prompt.lower()]
    seen: set[str] = set()
    for sentence in _SENTENCE.split(prompt):
        key = _normal(sentence)
        if key and key in seen:
            found.append(Finding("repeated", sentence.strip()))
        seen.add(key)
    return found


def tighten(prompt: str) -> str:
    """`prompt` without its filler phrases and repeated sentences; line structure is kept."""
    lines = []
    seen: set[str] = set()
    for line in prompt.split("\n"):
        kept = []
        for sentence in _SENTENCE.split(line):
            text = sentence
            for phrase in FILLER:
                text = re.sub(re.escape(phrase), "", text, flags=re.IGNORECASE)
            text = text.strip()
            key = _normal(text)
            if key and key in seen:
                continue
            seen.add(key)
            if text:
                kept.append(text[:1].upper() + text[1:])
        lines.append(" ".join(kept))
    return "\n".join(lines)


def compress(text: str, *, keep: Sequence[str], budget: int, model: str | None = None) -> str:
    """The lines of `text` that name one of `keep` (case-insensitive), in order, then the others
    while they fit `budget` estimated tokens; a required line is never dropped for the budget."""
    if budget < 1:
        raise UsageError(f"budget is a number of tokens, at least 1, got {budget!r}")
    needles = [k.lower() for k in keep]
    lines = text.split("\n")
    required = [i for i, line in enumerate(lines) if any(n in line.lower() for n in needles)]
    chosen = set(required)
    used = sum(tokens.estimate(lines[i], model) for i in required)
    for i, line in enumerate(lines):
        if i in chosen:
            continue
        cost = tokens.estimate(line, model)
        if used + cost <= budget:
            chosen.add(i)
            used += cost
    return "\n".join(line for i, line in enumerate(lines) if i in chosen)


def truncate(text: str, *, budget: int, model: str | None = None) -> str:
    """The naive cut: the longest start of `text`, whole words, within `budget` estimated tokens."""
    words, out = text.split(" "), []
    for word in words:
        if tokens.estimate(" ".join([*out, word]), model) > budget:
            break
        out.append(word)
    return " ".join(out)


def schema_tax(client: Any, request: Mapping[str, Any]) -> int:
    """Input tokens that `request`'s tools add: count_tokens with them minus without them (the
    definitions plus the tool-use system prompt the API adds when tools are present)."""
    fields = {k: v for k, v in request.items() if k not in ("max_tokens", "stream", "tool_choice")}
    if not fields.get("tools"):
        return 0
    with_tools = client.messages.count_tokens(**fields).input_tokens
    without = client.messages.count_tokens(**{k: v for k, v in fields.items() if k != "tools"}).input_tokens
    return int(with_tools - without)


def _normal(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a research brief is built (lesson and lab 06): the episode table's `format`, whether the
    standing instructions are `lint`ed, whether the background notes are `compress`ed to the task's
    concepts, and the answer length to ask for (`words`, None: none)."""

    format: str = "json"
    lint: bool = False
    compress: bool = False
    words: int | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"format is one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.words is not None and (not isinstance(self.words, int) or isinstance(self.words, bool)
                                       or self.words < 1):
            raise UsageError(f"words is a positive number of words or None, got {self.words!r}")


BASELINE = Recipe()
# The workload's fixed parts (lesson 06 builds the same briefs step by step).
INSTRUCTIONS = ("I would like you to act as a very careful and really thorough research assistant for our podcast. "
                "Please make sure to be accurate and say what is debated. Please just write the notes for the host "
                "in plain words. It is important that you make sure to be accurate and say what is debated.")
GUESTS = ("Ada Reyes", "Tom Okafor", "Mira Lund", "Sam Chen", "Lena Fischer", "Omar Haddad", "Ines Costa", "Jon Berg")
EPISODES = tuple({"episode": n, "guest": guest, "minutes": 27 + n % 5, "status": "draft" if n % 3 else "published"}
                 for n, guest in enumerate(GUESTS, start=1))
NOISE_CONCEPTS = 2
FACTS_PER_CONCEPT = 3


def research_brief(task: Any, recipe: Recipe, corpus: Any, *, seed: int = 0, model: str | None = None) -> str:
    """The brief a research agent sends for `task` (a `labkit.quality.Task`): instructions, the
    research folder's notes (the task's concepts and NOISE_CONCEPTS unrelated ones, chosen by `seed`
    and the task), the episode list, then the task; `recipe` says what is tightened."""
    import random

    concepts = {c.id: c for c in corpus.concepts}
    rng = random.Random(f"{seed}:{task.id}")
    noise = rng.sample(sorted(cid for cid in concepts if cid not in task.requires), NOISE_CONCEPTS)
    notes = "\n".join(f"- {concepts[cid].name}: {fact}" for cid in (*noise, *task.requires)
                      for fact in concepts[cid].facts[:FACTS_PER_CONCEPT])
    if recipe.compress:
        notes = compress(notes, keep=[concepts[cid].name for cid in task.requires], budget=1, model=model)
    instructions = tighten(INSTRUCTIONS) if recipe.lint else INSTRUCTIONS
    table = encode(EPISODES, recipe.format).rstrip("\n")
    ask = task.prompt + (f" Answer in about {recipe.words} words." if recipe.words else "")
    return f"{instructions}\nBackground notes:\n{notes}\nEpisodes so far:\n{table}\nTask: {ask}"
