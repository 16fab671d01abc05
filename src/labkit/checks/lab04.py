"""Checks for lab 04 (Cache system): designing namespaces, reading statistics per layer, predicting a
cleanup, reaching an 80% hit rate with a better key, and pricing prompt caching."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

from ..cache import prompt
from ..cache.config import CacheConfigError, load_yaml, parse_config
from . import hint, passed, question

DESIGN_NAMESPACES = ("api_responses", "research_content", "script_templates")
LAYERS = ("memory", "disk", "api")


@question("04.q1")
def design(answer: Any) -> Any:
    """A YAML configuration with API, research and template namespaces, each bounded and with a
    lifetime that fits how long its answers stay true."""
    if not isinstance(answer, str):
        return hint("give the configuration as YAML text (a string), as in data/cache_config.yml")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = parse_config(answer, source="your configuration")
    except CacheConfigError as exc:
        return hint(f"labkit cannot read it: {exc}")
    if config.ignored:
        return hint("labkit ignores part of it (run parse_config on it and read `.ignored`): "
                    + config.ignored[0].split(": ", 1)[-1])
    missing = [name for name in DESIGN_NAMESPACES if name not in config.namespaces]
    if missing:
        return hint(f"declare a namespace for each kind of content; missing: {', '.join(missing)}")
    raw = load_yaml(answer, "your configuration")
    defaults = raw.get("defaults") or {}
    for name in DESIGN_NAMESPACES:
        settings = raw["cache_layers"].get(name) or {}
        if config[name].ttl is None:
            return hint(f"`{name}` never expires: give it a lifetime (ttl)")
        if "max_size" not in settings and "max_size" not in defaults:
            return hint(f"`{name}` relies on labkit's default disk bound: choose a max_size for it")
    ttl = [config[name].ttl for name in DESIGN_NAMESPACES]
    if not ttl[0] < ttl[1] < ttl[2]:
        return hint("order the lifetimes by how long each kind of answer stays true: API responses "
                    "go stale first, templates last")
    if not config["api_responses"].compress:
        return hint("API responses are verbose JSON: turn compression on for them")
    return passed(f"{len(config.namespaces)} namespaces, lifetimes from {ttl[0]:g} s to {ttl[2]:g} s")


@question("04.q2")
def layer_shares(answer: Any, *, rows: list[Mapping[str, Any]], namespace: str) -> Any:
    """The share of all requests answered by memory, by disk and by the API, from `store.stats()`."""
    if not isinstance(answer, Mapping) or set(answer) != set(LAYERS):
        return hint('answer with a dict {"memory": ..., "disk": ..., "api": ...} of fractions')
    if not all(isinstance(v, (int, float)) for v in answer.values()):
        return hint("each share is a number between 0 and 1")
    layer = {row["layer"]: row for row in rows if row["namespace"] == namespace}
    memory, disk = layer["memory"], layer["disk"]
    total = memory["hits"] + memory["misses"]
    expected = {"memory": memory["hits"] / total, "disk": disk["hits"] / total,
                "api": (memory["misses"] - disk["hits"]) / total}
    if all(math.isclose(answer[k], expected[k], abs_tol=1e-9) for k in LAYERS):
        return passed(f"memory answered {expected['memory']:.0%}, disk {expected['disk']:.0%}")
    if all(math.isclose(answer[k], 100 * expected[k], abs_tol=1e-6) for k in LAYERS):
        return hint("give fractions (0.25), not percentages (25)")
    if math.isclose(answer["disk"], disk["hit_rate"], abs_tol=1e-9) and disk["hit_rate"] != expected["disk"]:
        return hint("the disk layer's own hit_rate counts only the requests that reached it (the memory "
                    "layer's misses): divide by all requests")
    if not math.isclose(sum(answer.values()), 1.0, abs_tol=1e-6):
        return hint("every request is answered by exactly one of the three: the shares add up to 1")
    return hint("count hits per layer in store.stats() and divide by the requests the first layer saw")


@question("04.q3")
def cleanup_prediction(answer: Any, *, written: Mapping[str, list[float]], ttl: Mapping[str, float],
                       at_hour: float) -> Any:
    """How many entries a cleanup at `at_hour` removes per namespace, given when each was written."""
    if not isinstance(answer, Mapping) or set(answer) != set(written):
        return hint(f"answer with a dict of counts for each namespace: {', '.join(written)}")
    expected = {ns: sum(1 for hour in hours if hour * 3600 + ttl[ns] <= at_hour * 3600)
                for ns, hours in written.items()}
    if {k: answer[k] for k in expected} == expected:
        return passed("an entry is gone once its own lifetime has passed since it was written")
    from_open = {ns: (len(hours) if ttl[ns] <= at_hour * 3600 else 0) for ns, hours in written.items()}
    if {k: answer[k] for k in expected} == from_open:
        return hint("each entry's lifetime counts from when *it* was written, not from when the cache opened")
    return hint("for each entry: written at + ttl, compared with the time of the cleanup")


@question("04.q4")
def normalised_hit_rate(answer: Any, *, hits: int, lookups: int, mapping: Mapping[str, Any],
                        truth: Mapping[str, str]) -> Any:
    """A key function that merges cosmetic variants of a topic (and only those) to reach >= 80% hits."""
    if not isinstance(answer, (int, float)):
        return hint("give the hit rate as a fraction between 0 and 1")
    if not lookups or not math.isclose(answer, hits / lookups, abs_tol=1e-9):
        return hint("report the hit rate your run measured: research.cache.hit_rate")
    by_key: dict[Any, set[str]] = {}
    for variant, k in mapping.items():
        by_key.setdefault(repr(k), set()).add(truth[variant])
    if any(len(topics) > 1 for topics in by_key.values()):
        return hint("your key merges different topics: they would get each other's research notes")
    if answer < 0.8:
        return hint("variants of one topic still get different keys: look at case, spaces, "
                    "punctuation and the leading 'the'")
    return passed(f"{answer:.0%} hit rate with one key per topic")


@question("04.q5")
def prompt_cache_savings(answer: Any, *, usages: Mapping[str, list[Mapping[str, Any]]], model: str) -> Any:
    """Dollars saved by prompt caching per scenario, against the same tokens sent uncached."""
    if not isinstance(answer, Mapping) or set(answer) != set(usages):
        return hint(f"answer with a dict of dollars for each scenario: {', '.join(usages)}")
    expected = {name: prompt.total(u, model).saving for name, u in usages.items()}
    if all(math.isclose(answer[k], expected[k], rel_tol=1e-9, abs_tol=1e-12) for k in expected):
        losers = [k for k, v in expected.items() if v < 0]
        return passed("caching cost more in: " + ", ".join(losers) if losers else "caching paid in every scenario")
    if all(math.isclose(answer[k], -expected[k], rel_tol=1e-9, abs_tol=1e-12) for k in expected):
        return hint("saving = cost without prompt caching minus cost with it (positive when caching pays)")
    ignoring_writes = {name: sum(prompt.report(x, model).cost_without_cache.total
                                 - prompt.report({**x, "cache_creation_input_tokens": 0,
                                                  "cache_creation": None}, model).cost.total
                                 for x in u) for name, u in usages.items()}
    if all(math.isclose(answer[k], ignoring_writes[k], rel_tol=1e-9, abs_tol=1e-12) for k in expected):
        return hint("cache writes are billed too, above the base input price")
    return hint("price each usage with and without its cache split (labkit.cache.prompt.report) and sum")
