"""labkit.efficiency and tokens.audit: formats, lint, compression that keeps what a task needs, the
schema tax, and a per-block audit whose totals are the response's usage."""

from __future__ import annotations

import json

import pytest
import yaml

import labkit
from labkit import efficiency, tokens
from labkit.errors import UsageError

pytestmark = pytest.mark.usefixtures("offline")
RECORDS = [{"episode": n, "topic": t, "minutes": m} for n, t, m in
           [(1, "decoherence", 27), (2, "chaos theory", 31), (3, "the halting problem", 24), (4, "many-worlds", 29)]]


def test_every_format_holds_the_same_records() -> None:
    assert json.loads(efficiency.encode(RECORDS, "json")) == RECORDS
    assert json.loads(efficiency.encode(RECORDS, "compact json")) == RECORDS
    assert yaml.safe_load(efficiency.encode(RECORDS, "yaml")) == RECORDS
    from toon_format import decode

    assert decode(efficiency.encode(RECORDS, "toon"))["records"] == RECORDS
    assert efficiency.encode(RECORDS, "csv").splitlines()[0] == "episode,topic,minutes"
    sizes = {f: tokens.estimate(efficiency.encode(RECORDS, f), "claude-haiku-5-5") for f in efficiency.FORMATS}
    assert sizes["compact json"] < sizes["json"] and sizes["csv"] < sizes["json"] and sizes["toon"] < sizes["json"]
    with pytest.raises(UsageError, match="format is one of"):
        efficiency.encode(RECORDS, "xml")


def test_lint_finds_filler_and_repeats_and_tighten_removes_them() -> None:
    prompt = "Please make sure to be accurate. Be brief. Please make sure to be accurate!"
    kinds = {(f.kind, f.text) for f in efficiency.lint(prompt)}
    assert ("filler", "please") in kinds and ("repeated", "Please make sure to be accurate!") in kinds
    tight = efficiency.tighten(prompt)
    assert tight == "Be accurate. Be brief."
    assert efficiency.lint(tight) == []


def test_compression_keeps_every_required_line_and_truncation_does_not() -> None:
    notes = "\n".join(["- chaos theory: small causes, large effects."] * 6 + ["- decoherence: the environment."])
    kept = efficiency.compress(notes, keep=["decoherence"], budget=20, model="claude-haiku-5-5")
    assert "decoherence" in kept and tokens.estimate(kept, "claude-haiku-5-5") <= 40
    cut = efficiency.truncate(notes, budget=20, model="claude-haiku-5-5")
    assert "decoherence" not in cut and tokens.estimate(cut, "claude-haiku-5-5") <= 20


def test_the_schema_tax_is_what_the_tools_add_to_count_tokens() -> None:
    client = labkit.client(max_retries=0)
    tool = {"name": "search_corpus", "description": "Search the podcast's research corpus for a topic.",
            "input_schema": {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}}
    request = {"model": "claude-haiku-5-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
    one = efficiency.schema_tax(client, {**request, "tools": [tool]})
    two = efficiency.schema_tax(client, {**request, "tools": [tool, {**tool, "name": "search_web"}]})
    assert efficiency.schema_tax(client, request) == 0
    assert one > 300 and two > one  # the tool-use system prompt, then each definition


def test_an_audit_splits_usage_exactly_and_prices_each_state() -> None:
    client = labkit.client(max_retries=0)
    system = [{"type": "text", "text": "You research for a podcast about the limits of knowledge. " * 80,
               "cache_control": {"type": "ephemeral"}}]
    request = {"model": "claude-haiku-5-5", "max_tokens": 2000, "system": system, "thinking": {"type": "adaptive"},
               "messages": [{"role": "user", "content": "Explain decoherence and chaos theory for listeners."}]}
    first, second = client.messages.create(**request), client.messages.create(**request)
    for reply in (first, second):
        table = tokens.audit(request, reply)
        usage = reply.usage
        inputs = table[table["state"] != "generated"]["tokens"].sum()
        assert inputs == usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        assert table[table["state"] == "generated"]["tokens"].sum() == usage.output_tokens
        assert table["dollars"].sum() == pytest.approx(labkit.cost.price(usage, "claude-haiku-5-5").total)
    states = dict(zip(tokens.audit(request, second)["category"] + "/" + tokens.audit(request, second)["state"],
                      tokens.audit(request, second)["dollars"]))
    assert "system/cache read" in states and "thinking/generated" in states
    assert states["thinking/generated"] > states["system/cache read"]  # output outprices a big cached prefix
