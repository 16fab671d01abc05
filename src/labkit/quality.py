"""Answer quality on a 0-1 scale, scored from the answer text and the prompt alone.

This is a *model* of quality built on the course's topic corpus, not a measurement of Claude's: it asks
whether an answer stays on the concepts the prompt names and covers all of them.

    N          = the corpus concepts the prompt names (by keyword, as the simulator reads prompts)
    sentences  = the answer's sentences (speaker labels, list numbers and bullets removed); review
                 boilerplate ("consider starting with the puzzle itself") is neither on nor off topic
                 and is not counted
    on topic   = a sentence about at least one concept of N (corpus sentences by table, any other text
                 by keyword); when N is empty, a sentence about no corpus concept
    precision  = on-topic sentences / counted sentences
    coverage   = share of N that some on-topic sentence is about (1 when N is empty)
    score      = precision x coverage (0 for an answer with no countable sentence)

Under the simulator (docs/simulator.md, "Quality", has the measured table), answers drift into
generic filler at a rate that grows with the number of concepts to juggle and falls with thinking: a
one-concept answer scores about 0.98 without thinking, answers naming two to four concepts 0.75-0.81;
adaptive thinking lifts the latter to 0.83-0.92 at low effort, 0.94-0.98 at medium and 0.98 or more
at high effort. Wording does not matter, only which concepts are named: a terse prompt that names the
same concepts scores the same. Pass the whole prompt (system and user text) as `prompt_text`, since
that is what the simulator reads. Live answers can be scored too; then the figure says how closely an
answer sticks to the named concepts, in this corpus's vocabulary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from . import config, stats
from .errors import DataError, UsageError
from .sim.content import Corpus, load_corpus, split_sentences

__all__ = ["CLASSES", "Comparison", "Task", "answer_text", "compare", "load_tasks", "score", "score_task"]

CLASSES = ("lookup", "single-concept", "multi-concept", "multi-step")
SPLITS = ("tune", "held_out")


def score(answer_text: str, prompt_text: str, corpus: Corpus | None = None) -> float:
    """The quality of `answer_text` as an answer to `prompt_text` (see the module docstring)."""
    corpus = corpus or load_corpus(config.current().data_dir / "corpus" / "topics.yaml")
    named = {c.id for c in corpus.match(prompt_text)}
    boilerplate = set(corpus.review)
    counted = on_topic = 0
    covered: set[str] = set()
    for sentence in split_sentences(answer_text):
        if sentence in boilerplate:
            continue
        about = corpus.concepts_of(sentence)
        counted += 1
        if (about & named) if named else not about:
            on_topic += 1
            covered |= about & named
    if not counted:
        return 0.0
    coverage = len(covered) / len(named) if named else 1.0
    return on_topic / counted * coverage


@dataclasses.dataclass(frozen=True)
class Task:
    """One item of the task set (data/quality/tasks.yaml, written by data/quality_tasks.py): its class,
    its prompt, the concepts a good answer covers (the ground truth), and whether it is held out."""

    id: str
    kind: str
    prompt: str
    requires: tuple[str, ...]
    split: str


def load_tasks(data_dir: Path | None = None, *, split: str | None = None) -> list[Task]:
    """The task set, all of it or one `split` ("tune" or "held_out")."""
    if split is not None and split not in SPLITS:
        raise UsageError(f"split is one of {', '.join(SPLITS)}, got {split!r}")
    path = (data_dir or config.current().data_dir) / "quality" / "tasks.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        tasks = [Task(t["id"], t["class"], t["prompt"], tuple(t["requires"]), t["split"]) for t in raw["tasks"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a task set ({type(exc).__name__}: {exc}); regenerate it with "
                        "python data/quality_tasks.py") from None
    bad = [t.id for t in tasks if t.kind not in CLASSES or t.split not in SPLITS]
    if bad:
        raise DataError(f"{path}: tasks with an unknown class or split: {', '.join(bad)}")
    return [t for t in tasks if split is None or t.split == split]


def answer_text(message: Any) -> str:
    """The text an answer gives (its text blocks), or "" when it has none: a response whose thinking
    used up `max_tokens` (`stop_reason: "max_tokens"`, no text) is an answer of quality 0."""
    content = message.get("content") if isinstance(message, Mapping) else getattr(message, "content", None)
    if content is None:
        raise UsageError(f"expected a Messages response, got {type(message).__name__}")
    pieces = []
    for block in content:
        kind = block.get("type") if isinstance(block, Mapping) else getattr(block, "type", None)
        if kind == "text":
            pieces.append(block["text"] if isinstance(block, Mapping) else block.text)
    return " ".join(pieces)


def score_task(task: Task, answer: str, corpus: Corpus | None = None) -> float:
    """`score` of an answer to `task`, with the task's required concepts as what it must cover."""
    corpus = corpus or load_corpus(config.current().data_dir / "corpus" / "topics.yaml")
    named = {c.id for c in corpus.match(task.prompt)}
    if named != set(task.requires):
        raise DataError(f"task {task.id}: its prompt names {sorted(named)}, its ground truth says "
                        f"{sorted(task.requires)}: regenerate data/quality/tasks.yaml")
    return score(answer, task.prompt, corpus)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A candidate's quality against a baseline's on the same tasks: the paired difference overall and
    per class, each with its bootstrap interval. `kept(margin)` is the course's "quality kept"."""

    overall: stats.Interval
    by_class: Mapping[str, stats.Interval]

    def kept(self, margin: float = 0.02) -> bool:
        """No class loses more than `margin`: every class's lower bound is above -margin."""
        return bool(all(interval.low >= -margin for interval in self.by_class.values()))

    def worst(self) -> tuple[str, stats.Interval]:
        """The class with the lowest lower bound."""
        return min(self.by_class.items(), key=lambda item: item[1].low)


def compare(tasks: Sequence[Task], baseline: Sequence[float], candidate: Sequence[float], *,
            confidence: float = stats.DEFAULT_CONFIDENCE, seed: int = 0) -> Comparison:
    """Paired comparison of two strategies' scores on `tasks` (same order), overall and per class."""
    if not len(tasks) == len(baseline) == len(candidate):
        raise UsageError(f"one score per task on each side: {len(tasks)} tasks, {len(baseline)} baseline "
                         f"and {len(candidate)} candidate scores")
    by_class = {}
    for kind in CLASSES:
        rows = [i for i, task in enumerate(tasks) if task.kind == kind]
        if len(rows) >= 2:
            by_class[kind] = stats.paired_difference([baseline[i] for i in rows], [candidate[i] for i in rows],
                                                     confidence=confidence, seed=seed)
    return Comparison(stats.paired_difference(baseline, candidate, confidence=confidence, seed=seed), by_class)
