"""labkit.thinking: a level becomes a request every model accepts, or a clear error before sending;
a sweep measures each level, and a policy is judged against the default-effort baseline."""

from __future__ import annotations

import warnings

import anthropic
import pytest

import labkit
from labkit import models, quality, thinking

pytestmark = pytest.mark.usefixtures("offline")
ASK = [{"role": "user", "content": "Explain decoherence for listeners."}]


def test_every_level_on_every_model_is_accepted_or_refused_before_sending() -> None:
    client = labkit.client(max_retries=0)
    accepted = refused = 0
    for model in models.catalog().models:
        for level in (*thinking.LEVELS, "default"):
            try:
                fields = thinking.plan(model, level, max_tokens=20_000)
            except thinking.ThinkingError:
                refused += 1
                continue
            try:
                with warnings.catch_warnings():  # the SDK warns about deprecated models: not this test's subject
                    warnings.simplefilter("ignore", DeprecationWarning)
                    client.messages.create(model=model, messages=ASK, **fields)
            except anthropic.BadRequestError as exc:  # a plan the API would refuse: the bug this guards
                pytest.fail(f"{model} at {level!r}: {fields} -> {exc.message}")
            accepted += 1
    assert accepted > 40 and refused > 0


def test_levels_map_to_each_models_own_controls() -> None:
    haiku = thinking.plan("claude-haiku-5-5", "low", max_tokens=4000)
    assert haiku == {"max_tokens": 4000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}
    assert thinking.plan("claude-haiku-5-5", "off", max_tokens=4000)["thinking"] == {"type": "disabled"}
    assert thinking.plan("claude-haiku-5-5", "default", max_tokens=4000)["thinking"] == {"type": "adaptive"}
    with pytest.raises(thinking.ThinkingError, match="always thinks"):
        thinking.plan("claude-opus-5-5", "off", max_tokens=4000)
    # Haiku 4.5 takes only a manual budget: the level becomes one, below max_tokens.
    fields = thinking.plan("claude-haiku-4-5", "medium", max_tokens=8000)
    assert fields["thinking"] == {"type": "enabled", "budget_tokens": thinking.MANUAL_BUDGETS["medium"]}
    with pytest.raises(thinking.ThinkingError, match="below max_tokens"):
        thinking.plan("claude-haiku-4-5", "max", max_tokens=8000)


@pytest.mark.parametrize("level", ["ultrathink", "think hard", "", None])
def test_an_unknown_level_is_a_clear_error(level) -> None:
    with pytest.raises(thinking.ThinkingError, match="level is one of"):
        thinking.plan("claude-haiku-5-5", level, max_tokens=4000)


def test_a_sweep_is_tidy_and_a_policy_is_judged_against_the_default_baseline() -> None:
    tasks = quality.load_tasks(split="tune")
    frame = thinking.sweep(labkit.client(max_retries=0), tasks, ["default", "off", "medium"],
                           model="claude-haiku-5-5", progress=False)
    assert len(frame) == len(tasks) * 3 and set(frame["level"]) == {"default", "off", "medium"}
    assert not frame["exhausted"].any() and frame["quality"].between(0, 1).all()
    think_less = thinking.evaluate(frame, thinking.Policy({}, otherwise="off"), tasks)
    assert think_less.output_tokens_saved > 0.5 and think_less.seconds_saved > 0.5
    assert not think_less.met(), "thinking off everywhere loses multi-concept quality: the naive policy fails"
    assert think_less.comparison.worst()[1].low < -0.02
    same = thinking.evaluate(frame, thinking.Policy({}, otherwise="default"), tasks)
    assert same.output_tokens_saved == 0 and same.comparison.overall.estimate == 0


def test_a_policy_names_only_known_classes_and_levels() -> None:
    with pytest.raises(labkit.errors.UsageError, match="unknown task class"):
        thinking.Policy({"lookups": "off"})
    with pytest.raises(thinking.ThinkingError):
        thinking.Policy({"lookup": "ultrathink"})
