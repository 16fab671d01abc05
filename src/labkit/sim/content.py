"""Deterministic, on-topic answer text drawn from the podcast's topic corpus (`data/corpus/topics.yaml`).

The model of an answer, documented so lessons can reason about it:
- *What it is about*: the corpus concepts whose keywords the prompt names (system + user turns),
  in the order the prompt names them. A prompt that names no concept gets generic production text.
- *What kind of answer*: the last user turn decides: an outline, a review, a script, a summary, or
  research prose (the default), each with its own length range in tokens.
- *How long*: a length drawn from that range by the request's seeded random generator, or about
  1.3 tokens per word when the prompt asks for "N words".
- *Which sentences*: facts and analogies of the named concepts, picked by the same generator.
Identical requests with the same seed therefore get identical text.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from pathlib import Path

import yaml

from ..errors import DataError

KIND_PATTERNS = (
    ("outline", re.compile(r"\boutline\b|\bsections?\b|\bstructure\b")),
    ("review", re.compile(r"\breview\b|\bcritique\b|\bfeedback\b|\bcheck\b")),
    ("script", re.compile(r"\bscript\b|\bdialogue\b|\bepisode draft\b")),
    ("summary", re.compile(r"\bsummari[sz]e\b|\bsummary\b|\bcompact\b|\btl;?dr\b")),
)
LENGTHS = {"research": (150, 350), "outline": (80, 160), "review": (60, 140),
           "script": (500, 900), "summary": (60, 150), "brief": (15, 45)}
BRIEF = re.compile(r"\bone (sentence|line|word)\b|\bbriefly\b|\bin short\b")
WORDS = re.compile(r"\b(\d{1,5})\s+words?\b")
TOKENS_PER_WORD = 1.3


@dataclasses.dataclass(frozen=True)
class Concept:
    id: str
    name: str
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    facts: tuple[str, ...]
    analogies: tuple[str, ...]
    sources: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Corpus:
    concepts: tuple[Concept, ...]
    generic: tuple[str, ...]
    review: tuple[str, ...]
    outline: tuple[str, ...]

    def by_id(self, concept_id: str) -> Concept:
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)

    def match(self, text: str) -> list[Concept]:
        """Concepts the text names, in the order it first names them."""
        lowered = text.lower()
        found = []
        for concept in self.concepts:
            positions = [lowered.find(k) for k in concept.keywords if k in lowered]
            if positions:
                found.append((min(positions), concept))
        return [concept for _, concept in sorted(found, key=lambda pair: pair[0])]


@functools.cache
def load_corpus(path: Path) -> Corpus:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        concepts = tuple(
            Concept(id=c["id"], name=c["name"], keywords=tuple(k.lower() for k in c["keywords"]),
                    related=tuple(c.get("related", ())), facts=tuple(c["facts"]),
                    analogies=tuple(c.get("analogies", ())), sources=tuple(c.get("sources", ())))
            for c in raw["concepts"])
        return Corpus(concepts, tuple(raw["generic"]), tuple(raw["review"]), tuple(raw["outline"]))
    except FileNotFoundError:
        raise DataError(f"topic corpus not found at {path}") from None
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"malformed topic corpus in {path}: {exc}") from None


def answer_kind(instruction: str) -> str:
    lowered = instruction.lower()
    if BRIEF.search(lowered):
        return "brief"
    for kind, pattern in KIND_PATTERNS:
        if pattern.search(lowered):
            return kind
    return "research"


def target_length(instruction: str, kind: str, rng: random.Random) -> int:
    """Tokens the answer aims for before any `max_tokens` cut."""
    asked = WORDS.search(instruction.lower())
    if asked:
        return max(5, round(int(asked.group(1)) * TOKENS_PER_WORD))
    low, high = LENGTHS[kind]
    return rng.randint(low, high)


def compose(corpus: Corpus, context: str, instruction: str, rng: random.Random,
            target_tokens: int, count) -> str:
    """Answer text of about `target_tokens` tokens (`count(text)` measures) for the given prompt.

    `context` is everything the model sees (system and all turns); `instruction` is the last user turn.
    """
    kind = answer_kind(instruction)
    concepts = corpus.match(context)
    pool = _sentences(corpus, concepts, kind)
    if kind == "outline":
        names = [c.name for c in concepts] or ["the episode's question"]
        lines, used = [], 0
        for i, template in enumerate(rng.sample(corpus.outline, len(corpus.outline)), start=1):
            line = f"{i}. " + template.format(concept=names[(i - 1) % len(names)])
            lines.append(line)
            used += count(line) + 1
            if used >= target_tokens:
                break
        return "\n".join(lines)
    pieces: list[str] = []
    used = 0
    order = rng.sample(pool, len(pool))
    while used < target_tokens:
        sentence = order[len(pieces) % len(order)]
        if kind == "script":
            sentence = ("HOST: " if len(pieces) % 2 == 0 else "GUEST: ") + sentence
        pieces.append(sentence)
        used += count(sentence) + 1
    joiner = "\n" if kind == "script" else " "
    return joiner.join(pieces)


def _sentences(corpus: Corpus, concepts: list[Concept], kind: str) -> list[str]:
    if kind == "review":
        facts = [f for c in concepts for f in c.facts[:2]]
        return list(corpus.review) + facts
    if not concepts:
        return list(corpus.generic)
    return [s for c in concepts for s in (*c.facts, *c.analogies)]
