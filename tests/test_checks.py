"""labkit.checks: verdicts, polite failures, the grader's payload, and plain-Python display."""

from __future__ import annotations

import json
import math

import pytest

from labkit import checks
from labkit.checks import CHECK_MIME, CheckResult, Verdict, check, evaluate, hint, lookup, passed, question


@pytest.fixture(autouse=True)
def test_questions():
    """Register throwaway questions under the "99." prefix and remove them afterwards."""
    before = dict(checks._questions)

    @question("99.q1")
    def cost_is_positive(answer, *, limit=1.0):
        if answer <= 0:
            return hint("a cost is a positive number of dollars")
        if answer > limit:
            return hint("that is more than the whole budget: check the unit (dollars, not cents)")
        return passed("well done")

    @question("99.bool")
    def is_even(answer):
        return answer % 2 == 0

    @question("99.raises")
    def explodes(answer):
        raise ValueError("expected a list of calls")

    @question("99.none")
    def forgot_return(answer):
        answer == 1  # noqa: B015 - the bug under test: no `return`

    yield
    checks._questions.clear()
    checks._questions.update(before)


def test_registered_question_passes():
    result = evaluate("99.q1", 0.25)
    assert result == CheckResult("99.q1", True, "well done", 0.25)
    assert result.line() == "✔ 99.q1 passed: well done"


def test_wrong_answer_fails_with_a_hint_not_the_answer():
    result = evaluate("99.q1", -1)
    assert not result.passed
    assert result.message == "a cost is a positive number of dollars"
    assert result.line() == "✘ 99.q1: a cost is a positive number of dollars"


def test_context_reaches_the_check():
    assert not evaluate("99.q1", 0.5, limit=0.1).passed
    assert evaluate("99.q1", 0.05, limit=0.1).passed


@pytest.mark.parametrize("stub", [..., None, (1.0, ...), [..., 2], {"cost": ...}])
def test_unanswered_stub_fails_politely(stub):
    result = evaluate("99.q1", stub)
    assert not result.passed
    assert "not answered yet" in result.message
    assert result.answer is None


def test_a_check_that_raises_gives_a_failed_verdict():
    result = evaluate("99.raises", [1, 2])
    assert not result.passed
    assert result.message == "could not check this answer (ValueError: expected a list of calls)"


def test_an_answer_of_the_wrong_type_does_not_escape():
    result = evaluate("99.q1", "cheap")  # "cheap" <= 0 raises TypeError inside the check
    assert not result.passed
    assert "TypeError" in result.message


def test_a_check_that_returns_nothing_fails_instead_of_crashing():
    result = evaluate("99.none", 1)
    assert not result.passed
    assert "returned NoneType" in result.message


def test_bool_returns_are_accepted():
    assert evaluate("99.bool", 4) == CheckResult("99.bool", True, "", 4)
    failed = evaluate("99.bool", 3)
    assert not failed.passed
    assert failed.message  # a generic hint, never empty


def test_numpy_bool_returns_are_accepted():
    np = pytest.importorskip("numpy")

    @question("99.np")
    def all_positive(answer):
        return (np.asarray(answer) > 0).all()

    assert evaluate("99.np", [1, 2]).passed
    assert not evaluate("99.np", [1, -2]).passed


def test_unknown_question_gives_a_clear_key_error():
    with pytest.raises(KeyError, match=r"no question '99\.q404'.*look like '00\.q1'"):
        evaluate("99.q404", 1)
    with pytest.raises(KeyError, match="no question"):
        lookup("not-an-id")
    with pytest.raises(KeyError, match="no question"):
        lookup(7)  # type: ignore[arg-type]


def test_verdict_helpers():
    assert passed() == Verdict(True, "")
    assert hint("look at usage") == Verdict(False, "look at usage")


def test_payload_carries_question_verdict_message_and_answer():
    bundle = evaluate("99.q1", 0.25)._repr_mimebundle_()
    assert bundle["text/plain"] == "✔ 99.q1 passed: well done"
    assert bundle[CHECK_MIME] == {"question": "99.q1", "passed": True, "message": "well done", "answer": 0.25,
                                 "context": {}}


def test_answers_json_cannot_hold_become_their_repr():
    class Usage:
        def __repr__(self):
            return "Usage(input_tokens=10)"

    @question("99.any")
    def anything(answer):
        return passed()

    assert evaluate("99.any", Usage()).answer == "Usage(input_tokens=10)"
    assert evaluate("99.any", {1, 2}).answer == repr({1, 2})
    assert evaluate("99.any", math.nan).answer == "nan"  # NaN is not valid JSON
    assert evaluate("99.any", {"calls": [1, 2]}).answer == {"calls": [1, 2]}
    long = evaluate("99.any", set(range(10_000))).answer
    assert len(long) == checks.MAX_REPR and long.endswith("…")


def test_check_prints_the_line_outside_ipython(capsys):
    assert check("99.q1", -1) is None
    assert capsys.readouterr().out == "✘ 99.q1: a cost is a positive number of dollars\n"
    check("99.q1", ...)
    assert "not answered yet" in capsys.readouterr().out


def test_missing_lab_module_is_not_an_import_error():
    with pytest.raises(KeyError, match="no question '98.q1'"):
        lookup("98.q1")  # there is no labkit.checks.lab98


def test_the_answer_and_its_context_are_exported_as_json_for_the_grader():
    from anthropic.types import Usage

    usage = Usage(input_tokens=10, output_tokens=20)
    result = checks.evaluate("00.q1", 0.0, usage=usage, model="claude-haiku-5-5")
    payload = result._repr_mimebundle_()[checks.CHECK_MIME]
    assert payload["context"]["usage"]["output_tokens"] == 20
    assert payload["context"]["model"] == "claude-haiku-5-5"
    json.dumps(payload)
    again = checks.evaluate("00.q1", payload["answer"], **payload["context"])
    assert again.passed == result.passed and again.message == result.message


def test_numpy_answers_are_exported_as_plain_numbers():
    import numpy as np

    question("98.numpy")(lambda answer, samples: passed())
    payload = evaluate("98.numpy", np.int64(3), samples=np.array([0.5, 0.6, 0.7]))._repr_mimebundle_()[CHECK_MIME]
    assert payload["answer"] == 3 and isinstance(payload["answer"], int)
    assert payload["context"]["samples"] == [0.5, 0.6, 0.7]
