"""Lab 04's checks: right answers pass, common wrong ones get a hint that does not give the answer away."""

from __future__ import annotations

import pytest

from labkit.cache import prompt
from labkit.checks import evaluate

DESIGN = """
cache_layers:
  api_responses: {ttl: 1h, max_size: 500MB, compress: true}
  research_content: {ttl: 24h, max_size: 1GB}
  script_templates: {ttl: 7d, max_size: 50MB}
"""


@pytest.mark.parametrize(("answer", "passes", "says"), [
    (DESIGN, True, "3 namespaces"),
    (42, False, "YAML text"),
    ("cache_layers: [", False, "cannot read it"),
    (DESIGN.replace("compress: true", "compress: true, index: topic_hash"), False, "ignores"),
    (DESIGN.replace("script_templates", "templates"), False, "missing: script_templates"),
    (DESIGN.replace("ttl: 24h, ", ""), False, "never expires"),
    (DESIGN.replace(", max_size: 50MB", ""), False, "max_size"),
    (DESIGN.replace("ttl: 7d", "ttl: 2h"), False, "order the lifetimes"),
    (DESIGN.replace("compress: true", "compress: false"), False, "compression"),
    ("defaults: {max_size: 10MB}\n" + DESIGN.replace(", max_size: 50MB", ""), True, ""),
])
def test_q1_design(answer, passes, says):
    result = evaluate("04.q1", answer)
    assert result.passed is passes and says in result.message


ROWS = [
    {"namespace": "api", "layer": "memory", "hits": 60, "misses": 40, "hit_rate": 0.6},
    {"namespace": "api", "layer": "disk", "hits": 25, "misses": 15, "hit_rate": 0.625},
    {"namespace": "api", "layer": "all layers", "hits": 85, "misses": 15, "hit_rate": 0.85},
]


@pytest.mark.parametrize(("answer", "passes", "says"), [
    ({"memory": 0.6, "disk": 0.25, "api": 0.15}, True, "memory answered 60%"),
    ({"memory": 60, "disk": 25, "api": 15}, False, "fractions"),
    ({"memory": 0.6, "disk": 0.625, "api": 0.15}, False, "reached it"),
    ({"memory": 0.5, "disk": 0.25, "api": 0.15}, False, "add up to 1"),
    ({"memory": 0.6, "disk": 0.25}, False, "dict"),
    ({"memory": 0.6, "disk": 0.3, "api": 0.1}, False, "count hits per layer"),
])
def test_q2_layer_shares(answer, passes, says):
    result = evaluate("04.q2", answer, rows=ROWS, namespace="api")
    assert result.passed is passes and says in result.message


WRITTEN = {"api": [0, 2, 29.5], "research": [1, 5, 8, 20], "templates": [0, 3]}
TTL = {"api": 3600.0, "research": 86400.0, "templates": 604800.0}


@pytest.mark.parametrize(("answer", "passes", "says"), [
    ({"api": 2, "research": 2, "templates": 0}, True, "its own lifetime"),
    ({"api": 3, "research": 4, "templates": 0}, False, "not from when the cache opened"),
    ({"api": 2, "research": 3, "templates": 0}, False, "written at + ttl"),
    ({"api": 2}, False, "dict of counts"),
])
def test_q3_cleanup(answer, passes, says):
    result = evaluate("04.q3", answer, written=WRITTEN, ttl=TTL, at_hour=30)
    assert result.passed is passes and says in result.message


TRUTH = {"Chaos": "chaos", "chaos ": "chaos", "Entropy": "entropy", "entropy?": "entropy"}
GOOD = {"Chaos": "chaos", "chaos ": "chaos", "Entropy": "entropy", "entropy?": "entropy"}


@pytest.mark.parametrize(("answer", "hits", "mapping", "passes", "says"), [
    (0.9, 90, GOOD, True, "one key per topic"),
    (0.9, 80, GOOD, False, "report the hit rate your run measured"),
    (0.995, 199.0, dict.fromkeys(TRUTH, "same"), False, "merges different topics"),
    (0.6, 60, {k: k for k in TRUTH}, False, "still get different keys"),
    ("90%", 90, GOOD, False, "fraction"),
])
def test_q4_normalised_hit_rate(answer, hits, mapping, passes, says):
    lookups = 200 if answer == 0.995 else 100
    result = evaluate("04.q4", answer, hits=hits, lookups=lookups, mapping=mapping, truth=TRUTH)
    assert result.passed is passes and says in result.message


def usage(read=0, written=0, uncached=100, output=10):
    return {"input_tokens": uncached, "output_tokens": output, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written,
            "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0}}


USAGES = {"stable": [usage(written=3000), usage(read=3000), usage(read=3000)],
          "timestamp": [usage(written=3000)] * 3}


def test_q5_prompt_cache_savings():
    right = {k: prompt.total(u, "claude-haiku-5-5").saving for k, u in USAGES.items()}
    assert right["stable"] > 0 > right["timestamp"]
    ok = evaluate("04.q5", right, usages=USAGES, model="claude-haiku-5-5")
    assert ok.passed and "timestamp" in ok.message
    flipped = evaluate("04.q5", {k: -v for k, v in right.items()}, usages=USAGES, model="claude-haiku-5-5")
    assert not flipped.passed and "minus" in flipped.message
    wrong = evaluate("04.q5", {"stable": 1.0, "timestamp": 1.0}, usages=USAGES, model="claude-haiku-5-5")
    assert not wrong.passed and str(right["stable"])[:6] not in wrong.message


@pytest.mark.parametrize("qid", ["04.q1", "04.q2", "04.q3", "04.q4", "04.q5"])
def test_unanswered_questions_fail_politely(qid):
    assert not evaluate(qid, ...).passed
