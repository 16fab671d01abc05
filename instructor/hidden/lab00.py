"""Hidden checks and trusted contexts for lab 00 (Start here) — instructor only.

Never copied into the student bundle, never readable by a student's kernel (see docs/grading.md).
The template for every lab: copy this file to `instructor/hidden/labNN.py` and keep to its rules.

- Recompute, do not believe. The grader runs every submission on the simulator with a fixed seed,
  so what a call returned can be recomputed here with `given.client()` / `given.modelled(...)`;
  the prompts and knobs come from the *released* lab (`given.constants`, `given.parameters`), never
  from the student's copy. `given.exported` is what the student's kernel claimed: use it only where
  nothing else can supply a value, and then check it against what the grader recomputes. Timings of
  simulated calls are modelled seconds, exact and independent of the machine's load, so they are
  compared exactly with the grader's own modelled latencies; only local (wall-clock) timings need a
  plausibility range.
- A trusted context (`@context`) gives the question's visible check the inputs it should have had.
- A hidden check (`@hidden`) returns a bool or `passed()`/`hint()`; its `message` says what it
  checks, shown to students according to `visibility` ("always", "after_deadline", "never").
- Answers arrive as JSON data (numbers, strings, lists, dicts): check their type before using them.
"""

from labkit import cost, timing, tokens
from labkit.checks import hint, passed
from labkit.grading.hidden import Given, context, hidden, is_number, isclose

REVIEW_PROMPTS = [f"Review draft {n} of the chaos theory script for clarity." for n in range(1, 6)]


def research_call(given: Given) -> dict:
    """Question 1's request, exactly as the released lab makes it."""
    return {"model": given.parameters["MODEL"], "max_tokens": 200,
            "messages": [{"role": "user", "content": "Research Bell's theorem for our podcast in 80 words."}]}


@context("00.q1")
def known_call(given: Given) -> dict:
    usage = given.client().messages.create(**research_call(given)).usage
    return {"usage": usage.model_dump(mode="json"), "model": given.parameters["MODEL"]}


@hidden("00.q1", points=1, visibility="never",
        message="the cost of the lab's research call, priced by the grader itself")
def priced_independently(answer, given: Given):
    expected = cost.price(known_call(given)["usage"], given.parameters["MODEL"]).total
    return isclose(answer, expected, rel=1e-9)


@context("00.q2")
def released_prompts(given: Given) -> dict:
    return {"verbose": given.constants["VERBOSE"], "concise": given.constants["CONCISE"],
            "model": given.parameters["MODEL"]}


@hidden("00.q2", points=0.5, visibility="always", message="the saving is a fraction between 0 and 1")
def is_a_fraction(answer, given: Given):
    return is_number(answer) and 0 <= answer <= 1


@hidden("00.q2", points=0.5, visibility="after_deadline",
        message="the saving of the released prompts, counted by the grader for the lab's model")
def saving_of_released_prompts(answer, given: Given):
    prompts = released_prompts(given)
    before = tokens.estimate(prompts["verbose"], prompts["model"])
    after = tokens.estimate(prompts["concise"], prompts["model"])
    return isclose(answer, (before - after) / before, rel=1e-9, abs_tol=1e-9)


@context("00.q3")
def review_latencies(given: Given) -> dict:
    """The five review calls' modelled seconds: what an honest timer reports offline."""
    return {"samples": _review_latencies(given)}


@hidden("00.q3", points=1, visibility="after_deadline",
        message="five timings, each the modelled seconds of that review call, in order")
def timed_the_review_calls(answer, given: Given):
    samples = given.exported.get("samples")
    if not isinstance(samples, list) or len(samples) != len(REVIEW_PROMPTS):
        return hint("time each of the five review calls once")
    modelled = _review_latencies(given)
    if not all(is_number(s) and isclose(s, m, rel=1e-9) for s, m in zip(samples, modelled)):
        return hint("some timings are not the time of one review call: time each call on its own")
    return passed()


@hidden("00.q3", points=1, visibility="never",
        message="the p95 of the review calls' modelled latencies, computed by the grader")
def p95_of_the_review_calls(answer, given: Given):
    expected = timing.percentile(_review_latencies(given), 95)
    return is_number(answer) and isclose(answer, expected, rel=1e-9)


def _review_latencies(given: Given) -> list[float]:
    return [given.modelled({"model": given.parameters["MODEL"], "max_tokens": 150,
                            "messages": [{"role": "user", "content": prompt}]}).latency
            for prompt in REVIEW_PROMPTS]
