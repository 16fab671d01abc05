"""The simulated multi-session workload: three work sessions of the podcast team, one episode each.

Each session is a scripted sequence of steps: research two concepts (each with pasted search results
and a tool log), outline, script, review, revise, and a one-sentence pitch. The material mixes what
the task needs with what it does not: tool logs nobody reads, search results that are consumed once,
drafts that a revision supersedes, other episodes' notes and background files.

**What a step reads is an assumption of this script** (`Turn.reads`): the outline reads the two
research answers, the script reads the outline, the review reads the script and the listener
feedback, and so on, as a producer would hand each step its inputs. Context efficiency
(`labkit.memory.efficiency`) is measured against these declarations, so they are printed in the lesson.
Everything is deterministic: the texts come from the topic corpus (`data/corpus/topics.yaml`) and
the answers from the seeded simulator.
"""

from __future__ import annotations

import dataclasses

from .. import config
from ..sim.content import Concept, Corpus, load_corpus
from .tiers import ALWAYS, BACKGROUND, TASK, MemoryItem, MemoryStore
from .tracker import ContextError

BRIEF = ("Edges of Knowing is a 27-minute podcast about the limits of human knowledge, for curious "
         "listeners without a science background. Our voice is warm, precise and humble: we say plainly "
         "when an idea is contested. No equations on air, and one everyday example per idea.")
TOOL_LOG = ("search_corpus trace: the query was expanded with three synonyms across four indexes. "
            "Fourteen hits came back, nine were dropped as near-duplicates and three fell below the "
            "relevance cutoff. Shard two timed out once and was retried. Elapsed 0.41 s, cache miss, "
            "two results kept.")
BACKGROUND_ITEMS = (
    MemoryItem("metrics", BACKGROUND,
               "Production metrics log. Research calls took longer this month than last. Script drafts "
               "are the slowest step and the largest share of token spend. Most review rounds ended "
               "after one revision.", triggers=("metrics", "timing", "spend")),
    MemoryItem("feedback", BACKGROUND,
               "Listener feedback on last season. Many listeners loved the kitchen analogies. Several "
               "asked for fewer acronyms and a recap before the final segment. A few found the cold "
               "opens too long.", triggers=("listener", "feedback")),
    MemoryItem("archive", BACKGROUND,
               "Archive of season one. Episode four covered Bell's theorem and the puzzle of "
               "entanglement. Episode five asked whether Bayes can tame uncertainty. Episode six "
               "followed the double-slit experiment from Young to the quantum eraser.",
               triggers=("archive", "last season's episodes")),
)
# (task id, title, concept ids, how the instructions name them: corpus keywords, so the simulator and
# the quality model recognise them)
EPISODES = (
    ("ep1", "what watching does to the watched", ("observer-effect", "measurement-problem"),
     ("the observer effect", "the measurement problem")),
    ("ep2", "questions no machine can settle", ("halting-problem", "incompleteness-theorems"),
     ("the halting problem", "Gödel's incompleteness theorems")),
    ("ep3", "why the future will not sit still", ("chaos-theory", "laplaces-demon"),
     ("chaos theory", "Laplace's demon")),
)
NOTES_PER_CONCEPT = 3
RESULTS_PER_CONCEPT = 2


@dataclasses.dataclass(frozen=True)
class Turn:
    """One step: its instruction, the material pasted before it, and the keys of what it reads.

    `name` is the key its answer is stored under; a later step with the same name (a revision)
    supersedes it. `reads` names memory items, material and earlier answers by key; the always-loaded
    brief and the step's own instruction are read by every step and need not be listed.
    """

    name: str
    instruction: str
    reads: tuple[str, ...] = ()
    material: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Session:
    """One work session on one task; `topic` names what the task is about (for the quality model)."""

    name: str
    task: str
    topic: str
    turns: tuple[Turn, ...]

    def __post_init__(self) -> None:
        if not self.turns:
            raise ContextError(f"session {self.name!r} has no turns: give it at least one step")


@dataclasses.dataclass(frozen=True)
class Workload:
    memory: MemoryStore
    sessions: tuple[Session, ...]

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ContextError("the workload has no sessions: give it at least one")
        memory_keys = {item.key for item in self.memory.items}
        for session in self.sessions:
            known = set(memory_keys)
            for turn in session.turns:
                known |= {key for key, _ in turn.material}
                missing = [key for key in turn.reads if key not in known]
                if missing:
                    raise ContextError(f"session {session.name!r}, step {turn.name!r} reads "
                                       f"{', '.join(missing)}: no memory item, material or earlier "
                                       "step has that key")
                known.add(turn.name)

    @property
    def turns(self) -> int:
        return sum(len(s.turns) for s in self.sessions)


def podcast(corpus: Corpus | None = None) -> Workload:
    """The three sessions of the lesson: episode 1, 2 and 3, seven steps each."""
    corpus = corpus or load_corpus(config.current().data_dir / "corpus" / "topics.yaml")
    concepts = {c.id: c for c in corpus.concepts}
    items = [MemoryItem("brief", ALWAYS, BRIEF)]
    sessions = []
    for number, (task, title, ids, names) in enumerate(EPISODES, start=1):
        facts = [_own_facts(corpus, concepts[i]) for i in ids]
        notes = [f"Research notes for the episode on {title}."]
        notes += [f"- {fact}" for pool in facts for fact in pool[:NOTES_PER_CONCEPT]]
        items.append(MemoryItem(f"notes:{task}", TASK, "\n".join(notes), task=task))
        sessions.append(Session(f"session {number}", task, " and ".join(names), _steps(task, title, names, facts)))
    items.extend(BACKGROUND_ITEMS)
    return Workload(MemoryStore(items), tuple(sessions))


def _own_facts(corpus: Corpus, concept: Concept) -> tuple[str, ...]:
    """The concept's facts that name no other concept, so that an episode's notes stay on its topic."""
    return tuple(f for f in concept.facts if corpus.concepts_of(f) == {concept.id})


def _steps(task: str, title: str, names: tuple[str, str], facts: list[tuple[str, ...]]) -> tuple[Turn, ...]:
    a, b = names
    notes = f"notes:{task}"
    research = []
    for label, name, pool in (("A", a, facts[0]), ("B", b, facts[1])):
        found = pool[NOTES_PER_CONCEPT:NOTES_PER_CONCEPT + RESULTS_PER_CONCEPT]
        results = "\n".join([f"Search results for {name}:", *(f"- {fact}" for fact in found)])
        research.append(Turn(
            f"research:{label}", f"Research {name} for the episode on {title}: what it is and what it is not.",
            reads=(notes, f"results:{label}"),
            material=((f"results:{label}", results), (f"log:{label}", TOOL_LOG))))
    both = f"{a} and {b}"
    return (*research,
            Turn("outline", f"Outline the episode on {both} in five parts.",
                 reads=(notes, "research:A", "research:B")),
            Turn("script", f"Write the script of the episode on {both} from the plan above.",
                 reads=(notes, "outline")),
            Turn("review", f"Review the script draft on {both} with our listeners in mind.",
                 reads=("script", "feedback")),
            Turn("script", f"Revise the script on {both}, applying every point raised above.",
                 reads=("script", "review")),
            Turn("pitch", f"In one sentence, pitch the episode on {both} for the podcast feed.",
                 reads=("script",)))
