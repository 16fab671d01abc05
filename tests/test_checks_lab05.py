"""Lab 05's checks: they pass the right answer, and each wrong one gets the hint that points at it."""

from __future__ import annotations

import pytest

import labkit
from labkit import checks, quality, thinking

pytestmark = pytest.mark.usefixtures("offline")
ROUTED = {"lookup": "off", "single-concept": "low", "multi-concept": "medium", "multi-step": "low"}


def test_q1_tells_an_exhausted_answer_from_a_cut_one() -> None:
    context = {"caps": [100, 200, 300], "stop_reasons": ["max_tokens", "max_tokens", "end_turn"],
               "texts": ["", "half an answer", "a whole answer"]}
    assert checks.evaluate("05.q1", [100], **context).passed
    assert "not exhausted" in checks.evaluate("05.q1", [100, 200], **context).message
    assert not checks.evaluate("05.q1", [300], **context).passed


@pytest.fixture(scope="module")
def rows() -> list:
    labkit.configure(backend="sim", seed=0, time_scale=0)
    frame = thinking.sweep(labkit.client(max_retries=0), quality.load_tasks(split="held_out"),
                           ["default", "off", "low", "medium", "high"], model="claude-haiku-5-5", progress=False)
    return frame.to_dict("records")


def test_q2_wants_both_baselines_as_fractions(rows: list) -> None:
    policy = thinking.Policy(ROUTED)
    right = {"default": thinking.evaluate(rows, policy).output_tokens_saved,
             "high": thinking.evaluate(rows, policy, baseline="high").output_tokens_saved}
    assert checks.evaluate("05.q2", right, rows=rows, policy=ROUTED).passed
    percent = {k: v * 100 for k, v in right.items()}
    assert "percentages" in checks.evaluate("05.q2", percent, rows=rows, policy=ROUTED).message
    swapped = {"default": right["high"], "high": right["default"]}
    assert not checks.evaluate("05.q2", swapped, rows=rows, policy=ROUTED).passed


def test_q3_refuses_a_wrecked_class_and_a_claim_the_data_does_not_support(rows: list) -> None:
    verdict = thinking.evaluate(rows, thinking.Policy(ROUTED))
    honest = {"policy": ROUTED, "claim_holds": verdict.met(0.30, 0.02)}
    assert checks.evaluate("05.q3", honest, rows=rows).passed
    boastful = {**honest, "claim_holds": not honest["claim_holds"]}
    assert "look again at the claim" in checks.evaluate("05.q3", boastful, rows=rows).message
    off = {"policy": dict.fromkeys(quality.CLASSES, "off"), "claim_holds": False}
    assert "loses" in checks.evaluate("05.q3", off, rows=rows).message
    timid = {"policy": dict.fromkeys(quality.CLASSES, "medium"), "claim_holds": False}
    assert "target is 30%" in checks.evaluate("05.q3", timid, rows=rows).message
    partial = {"policy": {"lookup": "off"}, "claim_holds": False}
    assert "missing" in checks.evaluate("05.q3", partial, rows=rows).message
