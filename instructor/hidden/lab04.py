"""Hidden checks for lab 04 (Cache system) — instructor only.

Follows instructor/hidden/lab00.py: recompute, do not believe. The lab's workloads are rebuilt here
from the released lab (its constants, the course's data/, the grading seed) and run through the
grader's own `labkit.cache` stores and simulator:

- q1: the YAML is re-parsed by the grader (no ignored keys, every namespace bounded and expiring);
- q2: the 150-request workload is replayed through a fresh cache with an 8-entry memory layer;
- q3: the released `WRITTEN` entries are written into a fresh cache with data/cache_config.yml's
  lifetimes and the cleanup at hour 30 is actually run;
- q4: the 200 asked variants are regenerated; the student's key mapping (exported, untrusted) is
  only used to say which variants share a key, and is checked against the grader's own topic truth;
- q5: both prompt-caching scenarios are re-sent to fresh simulators and priced by the grader.

Answers arrive as JSON data: types are checked before use.
"""

import functools
import json
import random
import tempfile
import warnings
from pathlib import Path

import yaml

from labkit.cache import Cache, ManualClock, load_yaml, parse_config, prompt, wrap
from labkit.checks import hint
from labkit.grading.hidden import Given, context, hidden, is_number, isclose

NAMESPACES = ("api_responses", "research_content", "script_templates")
LAYERS = ("memory", "disk", "api")
CLEANUP_HOUR = 30


def _topics(data_dir: Path) -> tuple[list[dict], list[str]]:
    corpus = yaml.safe_load((data_dir / "corpus" / "topics.yaml").read_text())["concepts"]
    return corpus, [concept["name"] for concept in corpus]


# --------------------------------------------------------------------------- q1


def _parsed(answer):
    """The student's configuration as labkit reads it, or None if it cannot be read."""
    if not isinstance(answer, str):
        return None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = parse_config(answer, source="submitted configuration")
        raw = load_yaml(answer, "submitted configuration")
    except Exception:
        return None, None
    return config, raw


@hidden("04.q1", points=0.5, visibility="always",
        message="the configuration parses with labkit, nothing in it is ignored, and it declares the three namespaces")
def parses_cleanly(answer, given: Given):
    config, _ = _parsed(answer)
    if config is None:
        return hint("labkit.cache.parse_config cannot read the configuration")
    if config.ignored:
        return hint("part of the configuration is ignored by labkit")
    return all(name in config.namespaces for name in NAMESPACES)


@hidden("04.q1", points=0.5, visibility="after_deadline",
        message="every namespace has a positive lifetime and a positive disk bound of its own or from defaults, "
                "lifetimes strictly ordered API < research < templates, API responses compressed")
def bounded_and_ordered(answer, given: Given):
    config, raw = _parsed(answer)
    if config is None or not isinstance(raw, dict) or not all(n in config.namespaces for n in NAMESPACES):
        return False
    layers = raw.get("cache_layers") or {}
    defaults = raw.get("defaults") or {}
    for name in NAMESPACES:
        settings = layers.get(name) or {}
        ns = config[name]
        if ns.ttl is None or not ns.ttl > 0:
            return False
        if "max_size" not in settings and "max_size" not in defaults:
            return False
        if not (isinstance(ns.max_size, int) and ns.max_size > 0):
            return False
    ttl = [config[name].ttl for name in NAMESPACES]
    return ttl[0] < ttl[1] < ttl[2] and bool(config["api_responses"].compress)


# --------------------------------------------------------------------------- q2


@functools.lru_cache(maxsize=4)
def _layer_shares(seed: int, data_dir: str, model: str) -> dict:
    """Question 2's workload, replayed exactly as the released lab runs it, in a fresh cache."""
    from labkit.grading import reference

    _, topics = _topics(Path(data_dir))
    client = reference.client(reference.simulator(seed, Path(data_dir)))
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(1_800_000_000.0)
        config = parse_config({"cleanup_interval": None, "cache_layers": {
            "api_responses": {"ttl": "1h", "max_size": "50MB", "memory_items": 8, "compress": True}}})
        store = Cache(Path(tmp) / "q2.db", config, clock=clock)
        try:
            cached = wrap(client, store, namespace="api_responses")
            rng = random.Random(seed)
            prompts = [f"Research {topic} for our podcast in 40 words." for topic in topics]
            prompts += [f"List two open questions about {topic}." for topic in topics[:8]]
            weights = [1 / rank ** 1.1 for rank in range(1, len(prompts) + 1)]
            for text in rng.choices(prompts, weights, k=150):
                clock.advance(20)
                cached.messages.create(model=model, max_tokens=60, messages=[{"role": "user", "content": text}])
            rows = store.stats()
        finally:
            store.close()
    layer = {row["layer"]: row for row in rows if row["namespace"] == "api_responses"}
    total = layer["memory"]["hits"] + layer["memory"]["misses"]
    return {"memory": layer["memory"]["hits"] / total, "disk": layer["disk"]["hits"] / total,
            "api": (layer["memory"]["misses"] - layer["disk"]["hits"]) / total, "rows": rows}


@context("04.q2")
def replayed_rows(given: Given) -> dict:
    """The layer statistics of the grader's own replay of question 2's workload."""
    return {"rows": _layer_shares(given.seed, str(given.data_dir), given.parameters["MODEL"])["rows"],
            "namespace": "api_responses"}


def _shares_given(answer):
    return isinstance(answer, dict) and set(answer) == set(LAYERS) and all(is_number(answer[k]) for k in LAYERS)


@hidden("04.q2", points=0.5, visibility="always",
        message="three fractions between 0 and 1, one per layer, that add up to 1")
def shares_are_a_split(answer, given: Given):
    return (_shares_given(answer) and all(0 <= answer[k] <= 1 for k in LAYERS)
            and abs(sum(answer.values()) - 1) <= 1e-6)


@hidden("04.q2", points=1, visibility="never",
        message="the shares match the grader's own replay of the 150-request workload through a fresh cache")
def shares_replayed(answer, given: Given):
    if not _shares_given(answer):
        return False
    expected = _layer_shares(given.seed, str(given.data_dir), given.parameters["MODEL"])
    return all(isclose(answer[k], expected[k], rel=1e-9, abs_tol=1e-9) for k in LAYERS)


@context("04.q3")
def released_entries(given: Given) -> dict:
    """The released lab's entries and the lifetimes data/cache_config.yml gives their namespaces."""
    settings = yaml.safe_load((Path(given.data_dir) / "cache_config.yml").read_text())
    config = parse_config(settings)
    return {"written": _written(given), "ttl": {name: config[name].ttl for name in _written(given)},
            "at_hour": CLEANUP_HOUR}


# --------------------------------------------------------------------------- q3


@functools.lru_cache(maxsize=4)
def _cleanup(data_dir: str, written_json: str) -> dict:
    """The released lab's entries, written into a fresh cache with data/cache_config.yml, cleaned at hour 30."""
    written = json.loads(written_json)
    settings = yaml.safe_load((Path(data_dir) / "cache_config.yml").read_text())
    settings["cleanup_interval"] = f"{CLEANUP_HOUR}h"
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(0.0)
        store = Cache(Path(tmp) / "q3.db", parse_config(settings), clock=clock)
        try:
            for hour in sorted({h for hours in written.values() for h in hours}):
                clock.now = hour * 3600
                for namespace, hours in written.items():
                    if hour in hours:
                        store[namespace].set(f"written at hour {hour}", "notes")
            clock.now = CLEANUP_HOUR * 3600
            removed = store.cleanup()
            ttl = {name: store[name].config.ttl for name in written}
        finally:
            store.close()
    by_store = {name: int(removed.get(name, 0)) for name in written}
    by_rule = {name: sum(1 for h in hours if h * 3600 + ttl[name] <= CLEANUP_HOUR * 3600)
               for name, hours in written.items()}
    assert by_store == by_rule, f"the cache's cleanup {by_store} disagrees with the lifetimes {by_rule}"
    return by_store


def _written(given: Given) -> dict:
    return given.constants["WRITTEN"]


def _counts_given(answer, written):
    return (isinstance(answer, dict) and set(answer) == set(written)
            and all(isinstance(answer[k], int) and not isinstance(answer[k], bool) for k in written))


@hidden("04.q3", points=0.5, visibility="always",
        message="a whole-number count per namespace, none negative and none above the entries written to it")
def counts_are_possible(answer, given: Given):
    written = _written(given)
    return _counts_given(answer, written) and all(0 <= answer[k] <= len(written[k]) for k in written)


@hidden("04.q3", points=1, visibility="after_deadline",
        message="the counts match a cleanup the grader runs itself on the lab's entries and lifetimes")
def cleanup_rerun(answer, given: Given):
    written = _written(given)
    if not _counts_given(answer, written):
        return False
    expected = _cleanup(str(given.data_dir), json.dumps(written, sort_keys=True))
    return all(answer[k] == expected[k] for k in written)


# --------------------------------------------------------------------------- q4


def _variants(topic: str) -> list[str]:
    return [topic, topic.lower() + " ", f"The {topic.lower()}?", topic.upper(), f"the {topic}."]


@functools.lru_cache(maxsize=4)
def _asked(seed: int, data_dir: str) -> tuple[tuple[str, ...], dict]:
    """The 200 variants the released lab asks for, and which topic each variant is."""
    _, topics = _topics(Path(data_dir))
    rng = random.Random(seed + 4)
    weights = [1 / rank ** 1.1 for rank in range(1, len(topics) + 1)]
    asked = tuple(rng.choice(_variants(topic)) for topic in rng.choices(topics, weights, k=200))
    truth = {v: topic for topic in topics for v in _variants(topic)}
    return asked, truth


@context("04.q4")
def replayed_lookups(given: Given) -> dict:
    """The student's key (their design: exported) applied to the grader's regenerated requests, and
    the hits and lookups that gives; `truth` is the grader's."""
    asked, truth = _asked(given.seed, str(given.data_dir))
    mapping = given.exported.get("mapping")
    keys = ([json.dumps(mapping.get(v), sort_keys=True) for v in asked] if isinstance(mapping, dict) else [])
    return {"hits": len(keys) - len(set(keys)), "lookups": len(asked), "mapping": mapping, "truth": truth}


@hidden("04.q4", points=0.5, visibility="never",
        message="the hit rate is at least 80% and no higher than one key per topic allows on the lab's 200 requests")
def within_the_ceiling(answer, given: Given):
    asked, truth = _asked(given.seed, str(given.data_dir))
    ceiling = 1 - len({truth[v] for v in asked}) / len(asked)
    return is_number(answer) and 0.8 <= answer <= ceiling + 1e-9


@hidden("04.q4", points=1, visibility="after_deadline",
        message="the key never merges two topics, and its hit rate on the grader's regenerated requests "
                "reaches 80% and is the one reported")
def key_replayed(answer, given: Given):
    if not is_number(answer):
        return False
    asked, truth = _asked(given.seed, str(given.data_dir))
    mapping = given.exported.get("mapping")
    if not isinstance(mapping, dict) or not all(v in mapping for v in truth):
        return hint("the key of every variant of every topic is needed")
    key = {v: json.dumps(mapping[v], sort_keys=True) for v in truth}
    topic_of_key: dict[str, str] = {}
    for variant, k in key.items():
        if topic_of_key.setdefault(k, truth[variant]) != truth[variant]:
            return hint("two different topics share a key")
    hit_rate = 1 - len({key[v] for v in asked}) / len(asked)
    return hit_rate >= 0.8 and isclose(answer, hit_rate, rel=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------- q5


@functools.lru_cache(maxsize=4)
def _savings(seed: int, data_dir: str, model: str) -> dict:
    """Both scenarios re-sent as the released lab sends them, each to a fresh simulator (an empty prompt cache)."""
    from labkit.grading import reference

    corpus, topics = _topics(Path(data_dir))
    notes = "\n".join(f"- {fact}" for concept in corpus[:6] for fact in concept["facts"])
    bible = "You research for a podcast about the limits of human knowledge.\nBackground notes:\n" + notes
    questions = [f"In one sentence: why does {name} matter?" for name in topics[6:12]]
    saved = {}
    for scenario in ("stable", "timestamp"):
        client = reference.client(reference.simulator(seed, Path(data_dir)))
        usages = []
        for i, q in enumerate(questions):
            text = bible if scenario == "stable" else f"Current time: 10:{i:02d}\n" + bible
            reply = client.messages.create(model=model, max_tokens=60, system=prompt.cached_system(text),
                                           messages=[{"role": "user", "content": q}])
            usages.append(reply.usage.model_dump())
        saved[scenario] = prompt.total(usages, model).saving
        saved[f"{scenario} usages"] = usages
    return saved


@context("04.q5")
def resent_usages(given: Given) -> dict:
    expected = _savings(given.seed, str(given.data_dir), given.parameters["MODEL"])
    return {"usages": {k: expected[f"{k} usages"] for k in ("stable", "timestamp")}, "model": given.parameters["MODEL"]}


def _dollars_given(answer):
    return (isinstance(answer, dict) and set(answer) == {"stable", "timestamp"}
            and all(is_number(answer[k]) for k in answer))


@hidden("04.q5", points=0.5, visibility="after_deadline",
        message="a dollar amount per scenario, the stable prompt saving more than the timestamped one")
def stable_saves_more(answer, given: Given):
    return _dollars_given(answer) and answer["stable"] > answer["timestamp"]


@hidden("04.q5", points=1, visibility="never",
        message="the savings match both scenarios re-sent to fresh simulators and priced by the grader")
def savings_recomputed(answer, given: Given):
    if not _dollars_given(answer):
        return False
    expected = _savings(given.seed, str(given.data_dir), given.parameters["MODEL"])
    return all(isclose(answer[k], expected[k], rel=1e-9, abs_tol=1e-12) for k in ("stable", "timestamp"))
