"""Deterministic answer text drawn from the podcast's topic corpus (`data/corpus/topics.yaml`).

The model of an answer (docs/simulator.md, "Content" and "Quality", says the same for lessons):
- *What it is about*: the corpus concepts whose keywords the prompt names (system and every turn), in
  the order the prompt names them. A prompt that names no concept gets generic production text.
- *What kind of answer*: the last user turn decides: an outline, a review, a script, a summary, a
  one-line brief, or research prose (the default), each with its own length range in tokens.
- *How long*: a length drawn from that range, or about 1.3 tokens per word when the prompt asks for
  "N words".
- *Which sentences*: the named concepts' facts and analogies, taken round-robin so that every named
  concept is covered first. A share of the sentences, the **drift rate**, is generic filler instead:
  it rises with the number of concepts to juggle and falls with thinking (`drift_rate`).
The answer depends on the concepts named, the kind, the turn and the thinking settings, not on the
prompt's wording: a terse prompt that names the same concepts gets the same answer, hence the same
quality (`labkit.quality` scores it).
- *Structured output*: when the request asks for JSON (`output_config.format`), the answer is a value
  built from the schema (`structured`), its strings holding the answer text or, for a `title`, a
  short title of what the user wrote (`title`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import DataError
from . import counting

KIND_PATTERNS = (
    ("outline", re.compile(r"\boutline\b|\bsections?\b|\bstructure\b")),
    ("review", re.compile(r"\breview\b|\bcritique\b|\bfeedback\b|\bcheck\b")),
    ("script", re.compile(r"\bscript\b|\bdialogue\b|\bepisode draft\b")),
    ("summary", re.compile(r"\bsummari[sz]e\b|\bsummary\b|\bcompact\b|\btl;?dr\b")),
)
LENGTHS = {"research": (150, 350), "outline": (80, 160), "review": (60, 140),
           "script": (500, 900), "summary": (60, 150), "brief": (15, 45)}
BRIEF = re.compile(r"\bone (sentence|line|word)\b|\bbriefly\b|\bin short\b")
# Any of the above: one scan settles the common case of a prompt that asks for no particular kind.
ANY_KIND = re.compile("|".join(p.pattern for p in (BRIEF, *(p for _, p in KIND_PATTERNS))))
WORDS = re.compile(r"\b(\d{1,5})\s+words?\b")
TOKENS_PER_WORD = 1.3
# The Claude Code CLI's title request wraps what it titles in <session> tags and asks for 3-7 words.
SESSION = re.compile(r"<session>(.*?)</session>", re.DOTALL)
TITLE_WORDS = 7

# Drift without thinking, by the number of concepts the prompt names (the last figure holds for more).
# ASSUMPTION, chosen so that without thinking one concept keeps ~94% of sentences on topic and two to
# four concepts 82-75%, below the course's 0.85 quality bar (docs/simulator.md, "Quality").
DRIFT_WITHOUT_THINKING = (0.0, 0.06, 0.18, 0.22, 0.25)
# Thinking divides the drift by (1 + THINKING_GAIN x depth), depth = thinking tokens / tokens needed.
THINKING_GAIN = 3.4

# Sentence boundaries: after . ! or ? and before a capital, digit or quote, but not after an initial.
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+(?=[\"'A-Z0-9])")
# Labels the composer puts in front of a unit (script speakers, outline numbers, list bullets).
LABEL = re.compile(r"^(?:HOST:|GUEST:|\d+\.|[-*])\s+")

Count = Callable[[str], int]


@dataclasses.dataclass(frozen=True, eq=False)
class Concept:
    id: str
    name: str
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    facts: tuple[str, ...]
    analogies: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def sentences(self) -> tuple[str, ...]:
        return self.facts + self.analogies

    def named_in(self, lowered: str) -> bool:
        """Whether lower-cased text names this concept (a keyword or the concept's own name)."""
        return self.name.lower() in lowered or any(k in lowered for k in self.keywords)


@dataclasses.dataclass(frozen=True, eq=False)
class Corpus:
    """The loaded corpus (one object per file, compared and hashed by identity, so it can key caches)."""

    concepts: tuple[Concept, ...]
    generic: tuple[str, ...]
    review: tuple[str, ...]
    outline: tuple[str, ...]
    # Every fact and analogy -> ids of the concepts it is about (its own, plus any it names), computed
    # once at load so that scoring an answer is a table lookup per sentence.
    about: dict[str, frozenset[str]]
    # One pattern for every keyword (longest first) and the concept each keyword belongs to, so that
    # finding the concepts a prompt names is a single scan, however long the prompt.
    keywords: re.Pattern[str]
    owner: dict[str, Concept]

    def match(self, text: str) -> list[Concept]:
        """Concepts the text names (by keyword, case-insensitively), in the order it first names them."""
        found: dict[str, Concept] = {}
        for hit in self.keywords.finditer(text.lower()):
            concept = self.owner[hit.group()]
            found.setdefault(concept.id, concept)
        return list(found.values())

    def concepts_of(self, sentence: str) -> frozenset[str]:
        """Ids of the concepts one sentence is about: by table for corpus sentences, else by keyword."""
        known = self.about.get(sentence)
        if known is not None:
            return known
        lowered = sentence.lower()
        return frozenset(c.id for c in self.concepts if c.named_in(lowered))


@dataclasses.dataclass(frozen=True)
class Plan:
    """What an answer will be, decided before any text is written."""

    kind: str
    concepts: tuple[Concept, ...]
    target_tokens: int
    drift: float


@functools.cache
def load_corpus(path: Path) -> Corpus:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        concepts = tuple(
            Concept(id=c["id"], name=c["name"], keywords=tuple(k.lower() for k in c["keywords"]),
                    related=tuple(c.get("related", ())), facts=tuple(c["facts"]),
                    analogies=tuple(c.get("analogies", ())), sources=tuple(c.get("sources", ())))
            for c in raw["concepts"])
        generic, review, outline = tuple(raw["generic"]), tuple(raw["review"]), tuple(raw["outline"])
    except FileNotFoundError:
        raise DataError(f"topic corpus not found at {path}") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"malformed topic corpus in {path}: {exc}") from None
    owner = {k: c for c in concepts for k in c.keywords}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(owner, key=len, reverse=True)))
    return Corpus(concepts, generic, review, outline, _about(concepts, generic), pattern, owner)


def _about(concepts: tuple[Concept, ...], generic: tuple[str, ...]) -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {sentence: frozenset() for sentence in generic}
    for concept in concepts:
        for sentence in concept.sentences:
            lowered = sentence.lower()
            named = {c.id for c in concepts if c.named_in(lowered)}
            table[sentence] = frozenset({concept.id, *named})
    return table


def split_sentences(text: str) -> list[str]:
    """The sentences of an answer, without the labels the composer adds (speakers, numbers, bullets)."""
    out = []
    for line in text.splitlines():
        line = LABEL.sub("", line.strip())
        out.extend(s for s in SENTENCE_END.split(line) if s)
    return out


def answer_kind(instruction: str) -> str:
    """The kind of answer an instruction asks for (a brief answer wins over every other kind)."""
    lowered = instruction.lower()
    if not ANY_KIND.search(lowered):
        return "research"
    if BRIEF.search(lowered):
        return "brief"
    for kind, pattern in KIND_PATTERNS:
        if pattern.search(lowered):
            return kind
    return "research"


def words_asked(instruction: str) -> int | None:
    """The N of "in N words", if the instruction asks for a length."""
    asked = WORDS.search(instruction.lower())
    return int(asked.group(1)) if asked else None


def title(instruction: str) -> str:
    """A short title for what the user wrote (inside <session> tags when there are some): its first
    sentence, at most `TITLE_WORDS` words, without end punctuation, with a capital first letter."""
    inside = SESSION.search(instruction)
    source = (inside.group(1) if inside else instruction).strip()
    first = re.split(r"(?<=[.!?])\s+|\n", source, maxsplit=1)[0]
    text = " ".join(first.split()[:TITLE_WORDS]).strip(" .!?:;,")
    return text[:1].upper() + text[1:] if text else "New session"


def structured(schema: dict, text: str, title_text: str) -> Any:
    """A JSON value valid against `schema` (structured outputs), built from it alone: `const`, else
    the first `enum` value, else `default`; the first non-null `anyOf`/`oneOf` branch, `allOf` merged,
    local `$ref`s followed; objects with their required properties; arrays of `minItems` items (at
    least one where allowed); numbers at their lower bound (0 without one) within the upper one;
    `true`; strings holding `text`, or `title_text` for a property named `title`, fitted to
    `minLength`/`maxLength`. Not handled: `pattern`, `format`, `uniqueItems` of more than one item."""
    return _conform(schema, schema, "", text, title_text)


def _conform(schema: Any, root: dict, key: str, text: str, title_text: str) -> Any:
    schema = _resolved(schema if isinstance(schema, dict) else {}, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for combination in ("anyOf", "oneOf"):
        options = [_resolved(o, root) for o in schema.get(combination) or () if isinstance(o, dict)]
        if options:
            chosen = next((o for o in options if o.get("type") != "null"), options[0])
            rest = {k: v for k, v in schema.items() if k != combination}
            return _conform({**rest, **chosen}, root, key, text, title_text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: _conform(props.get(name) or {}, root, name, text, title_text)
                for name in schema.get("required") or ()}
    if kind == "array":
        count = schema.get("minItems", 0) or (1 if schema.get("maxItems", 1) >= 1 else 0)
        return [_conform(schema.get("items") or {}, root, key, text, title_text) for _ in range(count)]
    if kind in ("integer", "number"):
        return _bounded(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    value = title_text if key == "title" else text
    value = value[:schema["maxLength"]] if "maxLength" in schema else value
    return value.ljust(schema.get("minLength", 0), ".")


def _resolved(schema: dict, root: dict) -> dict:
    """`schema` with a local `$ref` (#/$defs/..., #/definitions/...) followed and `allOf` merged."""
    while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
    for part in schema.get("allOf") or ():
        part = _resolved(part, root) if isinstance(part, dict) else {}
        merged = {**schema.get("properties", {}), **part.get("properties", {})}
        required = list(dict.fromkeys([*schema.get("required", ()), *part.get("required", ())]))
        schema = {**part, **{k: v for k, v in schema.items() if k != "allOf"},
                  "properties": merged, "required": required}
    return schema


def _bounded(schema: dict, kind: str) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    value: float = 0 if low is None else low + (1 if "minimum" not in schema else 0)
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if high is not None and value > high - (0 if "maximum" in schema else 1):
        value = high - (0 if "maximum" in schema else 1)
    return math.ceil(value) if kind == "integer" else float(value)


def target_length(kind: str, words: int | None, rng: random.Random) -> int:
    """Tokens the answer aims for before any `max_tokens` cut."""
    if words is not None:
        return max(5, round(words * TOKENS_PER_WORD))
    low, high = LENGTHS[kind]
    return rng.randint(low, high)


def drift_rate(concepts_named: int, thinking_depth: float) -> float:
    """Share of an answer's sentences that drift into generic filler (see module docstring)."""
    base = DRIFT_WITHOUT_THINKING[min(concepts_named, len(DRIFT_WITHOUT_THINKING) - 1)]
    return base / (1 + THINKING_GAIN * thinking_depth)


@functools.lru_cache(maxsize=4096)
def draft(corpus: Corpus, seed: str, kind: str, concepts: tuple[Concept, ...], words: int | None,
          drift: float, ratio: float, cap: int) -> tuple[str, ...]:
    """The units of the answer a plan gets (`seed` seeds its generator). Memoized: an answer is a pure
    function of its plan, and workloads repeat plans (the same concepts, asked for the same kind of
    answer) far more often than they repeat wording."""
    rng = random.Random(seed)
    plan = Plan(kind, concepts, target_length(kind, words, rng), drift)
    return tuple(compose(corpus, plan, rng, lambda text: counting.text_tokens(text, ratio), cap))


def compose(corpus: Corpus, answer: Plan, rng: random.Random, count: Count, cap: int) -> list[str]:
    """The answer's units (sentences, or labelled lines; `joiner` joins them): about
    `answer.target_tokens` tokens as `count` measures them, and at least one sentence for every named
    concept. Writing stops early once past `cap` tokens (all `max_tokens` will keep), which leaves the
    units a prefix of the uncapped ones."""
    units = _units(corpus, answer, rng)
    between = join_cost(joiner(answer.kind), count)
    out: list[str] = []
    covered: set[int] = set()
    used = 0
    while (used < answer.target_tokens or len(covered) < len(answer.concepts)) and used <= cap:
        unit, concept = next(units)
        out.append(_label(answer.kind, len(out)) + unit)
        used += count(out[-1]) + (between if len(out) > 1 else 0)
        if concept is not None:
            covered.add(concept)
    return out


def joiner(kind: str) -> str:
    """Scripts and outlines are one unit per line; prose runs on."""
    return "\n" if kind in ("script", "outline") else " "


def join_cost(separator: str, count: Count) -> int:
    """Tokens a separator adds between units: a space merges into the next word's token, a newline
    is a token of its own."""
    return 0 if separator == " " else count(separator)


def _label(kind: str, position: int) -> str:
    if kind == "script":
        return ("HOST: ", "GUEST: ")[position % 2]
    return f"{position + 1}. " if kind == "outline" else ""


def _units(corpus: Corpus, answer: Plan, rng: random.Random) -> Iterator[tuple[str, int | None]]:
    """Endless (sentence, index of the named concept it covers): review boilerplate on every other
    unit of a review, and drift slots (generic filler) among the rest."""
    topical = _topical(corpus, answer, rng)
    filler = _shuffled(corpus.generic, rng)
    boilerplate = _shuffled(corpus.review, rng)
    slot = 0
    for position in itertools.count():
        if answer.kind == "review" and position % 2 == 0:
            yield next(boilerplate), None
            continue
        drifts = _drifts(slot, answer.drift)
        slot += 1
        yield (next(filler), None) if drifts else next(topical)


def _topical(corpus: Corpus, answer: Plan, rng: random.Random) -> Iterator[tuple[str, int | None]]:
    """On-topic units, round-robin over the named concepts (outline lines name them in a template)."""
    concepts = answer.concepts
    if answer.kind == "outline":
        templates = _shuffled(corpus.outline, rng)
        names = [c.name for c in concepts] or ["the episode's question"]
        for i in itertools.count():
            covers = i % len(concepts) if concepts else None
            yield next(templates).format(concept=names[i % len(names)]), covers
    if not concepts:
        yield from ((sentence, None) for sentence in _shuffled(corpus.generic, rng))
    pools = [_shuffled(c.sentences, rng) for c in concepts]
    for i in itertools.count():
        yield next(pools[i % len(pools)]), i % len(pools)


def _drifts(slot: int, rate: float) -> bool:
    """Systematic sampling: slot i drifts when floor(rate*(i+1) + 1/2) steps up, so any n slots hold
    round(rate*n) drifting ones: the realised share tracks the rate with no random spread."""
    return math.floor(rate * (slot + 1) + 0.5) > math.floor(rate * slot + 0.5)


def _shuffled(items: Sequence[str], rng: random.Random) -> Iterator[str]:
    """The items in a seeded order, over and over: a random start and a random stride coprime with
    the pool's size visit every item once per round (two draws instead of a full shuffle). Drawn on
    first use only, so pools an answer never reaches cost nothing and a shorter answer stays a prefix
    of a longer one."""
    size = len(items)
    start = rng.randrange(size)
    stride = rng.choice(_strides(size))
    while True:
        for i in range(size):
            yield items[(start + i * stride) % size]


@functools.cache
def _strides(size: int) -> tuple[int, ...]:
    return tuple(s for s in range(1, size) if math.gcd(s, size) == 1) or (1,)
