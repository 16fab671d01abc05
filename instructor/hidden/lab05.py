"""Hidden checks and trusted contexts for lab 05 (Thinking mode optimisation) — instructor only.

Follows instructor/hidden/lab00.py: recompute, do not believe. Every answer here rests on simulated
calls, so the grader sends the released lab's requests (its `CAPS`, `SEGMENT`, `LEVELS`, `MODEL`,
`REPEATS`, `MAX_TOKENS`) to a simulator of its own with the grading seed, and gives each visible
check those responses instead of the ones the student's kernel exported. Tokens and quality are
exact for a seed; the sweep's seconds are modelled on the grader's simulator's own clock.
"""

import functools
from pathlib import Path

from labkit.grading.hidden import Given, context, hidden


def _api(given: Given):
    from labkit.grading import reference

    return reference.simulator(given.seed, given.data_dir)


@context("05.q1")
def released_caps(given: Given) -> dict:
    from labkit import quality, thinking
    from labkit.grading import reference

    client = reference.client(_api(given))
    model, caps = given.parameters["MODEL"], list(given.constants["CAPS"])
    replies = [client.messages.create(model=model, messages=[{"role": "user", "content": given.constants["SEGMENT"]}],
                                      **thinking.plan(model, "max", max_tokens=cap)) for cap in caps]
    return {"caps": caps, "stop_reasons": [r.stop_reason for r in replies],
            "texts": [quality.answer_text(r) for r in replies]}


@functools.lru_cache(maxsize=4)
def _sweep(seed: int, data_dir: str, split: str, model: str, levels: tuple, repeats: int, max_tokens: int) -> tuple:
    from labkit import quality, thinking
    from labkit.grading import reference

    api = reference.simulator(seed, Path(data_dir))
    frame = thinking.sweep(reference.client(api), quality.load_tasks(Path(data_dir), split=split), list(levels),
                           model=model, max_tokens=max_tokens, repeats=repeats, progress=False, clock=api.clock)
    return tuple(frame.to_dict("records"))


def sweep(given: Given, split: str) -> list:
    """The released lab's sweep of `split`, run by the grader."""
    return list(_sweep(given.seed, str(given.data_dir), split, given.parameters["MODEL"],
                       tuple(given.constants["LEVELS"]), int(given.parameters["REPEATS"]),
                       int(given.parameters["MAX_TOKENS"])))


@context("05.q2")
def tuning_sweep(given: Given) -> dict:
    return {"rows": sweep(given, "tune"), "policy": dict(given.constants["ROUTED"])}


@context("05.q3")
def held_out_sweep(given: Given) -> dict:
    return {"rows": sweep(given, "held_out")}


@hidden("05.q3", points=1, visibility="after_deadline",
        message="the table was chosen on the tuning tasks: it saves at least 30% of the output tokens there too")
def tuned_where_it_should_be(answer, given: Given):
    from labkit import thinking
    from labkit.errors import UsageError

    if not isinstance(answer, dict) or not isinstance(answer.get("policy"), dict):
        return False
    try:
        verdict = thinking.evaluate(sweep(given, "tune"), thinking.Policy(answer["policy"]))
    except UsageError:
        return False
    return verdict.output_tokens_saved >= 0.30
