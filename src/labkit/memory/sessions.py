"""Run a workload's sessions under a memory policy with a real client, and measure every request.

A policy says how memory is loaded (everything, or hierarchically) and whether the conversation is
compacted when a request would reach a share of the window. Each step is one ordinary
`client.messages.create`; a compaction is one more (`labkit.memory.compaction`). Efficiency and
kept inputs are measured afterwards, once the whole session shows which blocks later steps read.

A session starts a fresh conversation, as a new Claude Code session does; memory is what carries
over. Before each step the request's size is estimated; if it reaches `compact_at` of the window and
there is a conversation to compact, the conversation is replaced by the model's summary first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import config, cost, quality, tokens
from ..timing import Timer
from .compaction import SUMMARY_PREFIX, Compaction, compact
from .efficiency import Measure, measure, sentences, total
from .tiers import ALWAYS, MemoryItem
from .tracker import DEFAULT_THRESHOLD, ContextError, ContextTracker
from .workload import Session, Workload

MAX_TOKENS = 1500


@dataclasses.dataclass(frozen=True)
class Policy:
    """How a run manages memory: `hierarchical` loading, and compaction at `compact_at` (None: never)."""

    name: str
    hierarchical: bool
    compact_at: float | None = None

    def __post_init__(self) -> None:
        share = self.compact_at
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                  or not 0 < share <= 1):
            raise ContextError(f"compact_at is a share of the window in (0, 1], got {self.compact_at!r}")


# Every memory file in every request, no compaction: what the guide's hooks measure.
NO_AUTOMATION = Policy("no automation", hierarchical=False)
HIERARCHY_ONLY = Policy("hierarchical memory", hierarchical=True)
AUTOMATED = Policy("hierarchy + compaction at 75%", hierarchical=True, compact_at=DEFAULT_THRESHOLD)


@dataclasses.dataclass(frozen=True)
class Block:
    """One piece of context: `id` is unique in a run, `key` says what it is (a later block with the
    same key supersedes it), `role` is system (memory), user or assistant."""

    id: str
    key: str
    role: str
    text: str


@dataclasses.dataclass(frozen=True)
class Step:
    """One measured request."""

    session: str
    turn: str
    number: int
    projected: int
    tokens: int
    share: float
    compacted: bool
    measure: Measure
    quality: float
    usage: dict[str, Any]
    seconds: float


@dataclasses.dataclass(frozen=True)
class CompactionRecord:
    """A compaction before step `number`; `kept` is the share of the needed tokens the conversation
    held that were still in context after it."""

    session: str
    number: int
    call: Compaction
    tokens_after: int
    kept: float


@dataclasses.dataclass
class Run:
    """One workload played under one policy: every measured request and every compaction call."""

    policy: Policy
    model: str
    window: int
    steps: list[Step] = dataclasses.field(default_factory=list)
    compactions: list[CompactionRecord] = dataclasses.field(default_factory=list)

    def measure(self, session: str | None = None) -> Measure:
        return total(s.measure for s in self.steps if session is None or s.session == session)

    def efficiency(self, session: str | None = None) -> float:
        return self.measure(session).efficiency

    def kept(self, session: str | None = None) -> float:
        return self.measure(session).kept_share

    @property
    def sessions(self) -> list[str]:
        return list(dict.fromkeys(s.session for s in self.steps))

    @property
    def peak_share(self) -> float:
        return max(s.share for s in self.steps)

    @property
    def overflows(self) -> int:
        """Requests larger than the window: a real window of that size would refuse them."""
        return sum(s.share > 1 for s in self.steps)

    @property
    def input_tokens(self) -> int:
        """Every input token sent, compaction calls included."""
        return sum(s.tokens for s in self.steps) + sum(c.call.tokens_before for c in self.compactions)

    @property
    def cost(self) -> cost.Cost:
        """What the run cost: its requests and its compaction calls."""
        bills = [cost.price(s.usage, self.model) for s in self.steps]
        return sum(bills + [c.call.cost for c in self.compactions], cost.Cost())

    @property
    def quality(self) -> float:
        """The mean quality-model score of the run's answers (`labkit.quality`)."""
        return sum(s.quality for s in self.steps) / len(self.steps)


def run(workload: Workload, policy: Policy, *, client: Any, model: str | None = None,
        window: int | None = None, max_tokens: int = MAX_TOKENS) -> Run:
    """Run every session of `workload` under `policy`; `window` is a budget inside the model's window."""
    model = model or config.current().model
    tracker = ContextTracker.for_model(model, window=window, threshold=policy.compact_at or 1.0)
    result = Run(policy=policy, model=model, window=tracker.window)
    for session in workload.sessions:
        _SessionRun(workload, session, policy, client, model, tracker, max_tokens, result).play()
    return result


@dataclasses.dataclass(frozen=True)
class _Played:
    """What one step sent and got, by block id: measured once the session is over."""

    turn: str
    ask: str
    context: list[str]
    inputs: set[str]
    answer: str
    usage: dict[str, Any]
    tokens: int
    projected: int
    seconds: float
    compaction: Compaction | None = None
    compacted: list[str] = dataclasses.field(default_factory=list)  # the conversation it replaced


class _SessionRun:
    """One session's conversation, its blocks and the bookkeeping that measuring needs."""

    def __init__(self, workload: Workload, session: Session, policy: Policy, client: Any, model: str,
                 tracker: ContextTracker, max_tokens: int, result: Run) -> None:
        self.workload, self.session, self.policy, self.client = workload, session, policy, client
        self.model, self.tracker, self.max_tokens, self.result = model, tracker, max_tokens, result
        self.blocks: dict[str, Block] = {}
        self.latest: dict[str, str] = {}  # key -> id of the newest block with that key
        for item in workload.memory.items:
            self._add(Block(f"memory:{item.key}", item.key, "system", item.text))
        self.always = [f"memory:{i.key}" for i in workload.memory.items if i.tier == ALWAYS]
        self.conversation: list[Block] = []
        self.played: list[_Played] = []

    def play(self) -> None:
        timer = Timer("step")
        for index, turn in enumerate(self.session.turns):
            prefix = f"{self.session.name}.{index + 1}"
            memory = [self.blocks[f"memory:{i.key}"] for i in self._memory(turn.instruction)]
            new = [self._add(Block(f"{prefix}.{key}", key, "user", text)) for key, text in turn.material]
            ask = self._add(Block(f"{prefix}.ask", f"ask:{turn.name}", "user", turn.instruction))
            new.append(ask)
            inputs = {*self.always, ask.id, *(self.latest[key] for key in turn.reads)}
            params = self._params(memory, self.conversation + new)
            projected = self.tracker.check_request(params)
            call, compacted = None, []
            if self.policy.compact_at is not None and self.conversation and self.tracker.should_compact(projected):
                compacted = [b.id for b in self.conversation]
                call = self._compact(memory, prefix)
                params = self._params(memory, self.conversation + new)
                self.tracker.check_request(params)
            with timer:
                response = self.client.messages.create(**params)
            context = [b.id for b in memory + self.conversation + new]
            text = "".join(b.text for b in response.content if b.type == "text")
            self.conversation += [*new, self._add(Block(f"{prefix}.answer", turn.name, "assistant", text))]
            self.played.append(_Played(turn.name, ask.id, context, inputs, text, response.usage.model_dump(),
                                       self.tracker.observe(response.usage), projected, timer.last, call, compacted))
        self._measure()

    def _memory(self, instruction: str) -> list[MemoryItem]:
        store = self.workload.memory
        return store.load(self.session.task, instruction) if self.policy.hierarchical else store.everything()

    def _add(self, block: Block) -> Block:
        self.blocks[block.id] = block
        self.latest[block.key] = block.id
        return block

    def _params(self, memory: list[Block], conversation: list[Block]) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens,
                                  "messages": [{"role": b.role, "content": b.text} for b in conversation]}
        if memory:
            params["system"] = _system(memory)
        return params

    def _compact(self, memory: list[Block], prefix: str) -> Compaction:
        call = compact(self.client, model=self.model, system=_system(memory),
                       messages=[{"role": b.role, "content": b.text} for b in self.conversation])
        summary = Block(f"{prefix}.summary", "summary", "user", SUMMARY_PREFIX + call.summary)
        self.blocks[summary.id] = summary  # not under `latest`: no step reads "the summary" by name
        self.conversation = [summary]
        return call

    def _measure(self) -> None:
        """Efficiency needs the future: a block is still needed while a later step will read it."""
        for i, step in enumerate(self.played):
            needed = {*self.always, step.ask}.union(*(later.inputs for later in self.played[i:]))
            tally = measure(self._texts(step.context), self._texts(needed), self._texts(step.inputs), self.model)
            number = len(self.result.steps) + 1
            if step.compaction is not None:
                kept = self._kept(step.compacted, step.context, needed)
                self.result.compactions.append(
                    CompactionRecord(self.session.name, number, step.compaction, step.tokens, kept))
            self.result.steps.append(Step(
                session=self.session.name, turn=step.turn, number=number, projected=step.projected,
                tokens=step.tokens, share=self.tracker.share(step.tokens), compacted=step.compaction is not None,
                measure=tally, quality=quality.score(step.answer, self.session.topic), usage=step.usage,
                seconds=step.seconds))

    def _kept(self, compacted: list[str], context: list[str], needed: set[str]) -> float:
        """The share (in tokens) of the needed sentences a compacted conversation held that are still in
        the context after it."""
        def units(ids: Any) -> set[str]:
            return {s for text in self._texts(ids) for s in sentences(text)}

        held = units(compacted) & units(needed)
        size = sum(tokens.estimate(s, self.model) for s in held)
        return sum(tokens.estimate(s, self.model) for s in held & units(context)) / size if size else 1.0

    def _texts(self, ids: Any) -> list[str]:
        return [self.blocks[i].text for i in ids]


def _system(memory: list[Block]) -> str:
    return "\n\n".join(b.text for b in memory)
