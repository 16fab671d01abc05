"""The cache's YAML configuration: sizes, lifetimes, the guide's file, unknown keys and clear errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from labkit.cache import (Cache, CacheConfigError, CacheConfigWarning, CacheError, load_config,
                          parse_config, parse_size, parse_ttl)
from labkit.errors import LabkitError

DATA = Path(__file__).resolve().parents[1] / "data"

# The guide's Section 4 file, verbatim.
GUIDE_YAML = """
# .claude/cache/cache_config.yml
cache_layers:
  api_responses:
    ttl: 3600  # 1 hour for API responses
    max_size: 500MB
    compress: true

  research_content:
    ttl: 86400  # 24 hours for research
    max_size: 1GB
    index: topic_hash

  script_templates:
    ttl: 604800  # 1 week for templates
    version_control: true

  audio_synthesis:
    ttl: 259200  # 3 days for voice samples
    format: compressed
"""


@pytest.mark.parametrize(("text", "expected"), [
    (1048576, 1048576), ("500MB", 500_000_000), ("1GB", 1_000_000_000), ("1 gb", 1_000_000_000),
    ("512KiB", 524_288), ("1.5GiB", 1_610_612_736), ("100", 100), ("2kb", 2000), ("7B", 7),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["500 megs", "MB", "-5MB", "1e3", True, None, 0, "0KB", [], "5 XB"])
def test_bad_sizes_say_what_a_size_looks_like(bad):
    with pytest.raises(CacheConfigError, match=r"size") as info:
        parse_size(bad, where="cache_layers.api.max_size")
    assert "cache_layers.api.max_size" in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    (3600, 3600.0), ("90m", 5400.0), ("24h", 86400.0), ("7d", 604800.0), ("1w", 604800.0),
    ("45", 45.0), (0.5, 0.5), (None, None),
])
def test_lifetimes(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("bad", [0, -1, "soon", "5y", True, float("inf")])
def test_bad_lifetimes(bad):
    with pytest.raises(CacheConfigError, match="lifetime"):
        parse_ttl(bad)


def test_guides_file_parses_and_warns_about_each_key_it_does_not_implement():
    with pytest.warns(CacheConfigWarning) as caught:
        config = parse_config(GUIDE_YAML)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3 and list(config.ignored) == messages
    for key in ("index", "version_control", "format"):
        assert any(f"`{key}` is not implemented" in m for m in messages)
    api = config["api_responses"]
    assert (api.ttl, api.max_size, api.compress) == (3600.0, 500_000_000, True)
    assert config["research_content"].max_size == 1_000_000_000
    assert config["script_templates"].ttl == 604800.0
    assert config["audio_synthesis"].compress is False


def test_kit_config_loads_cleanly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = load_config(DATA / "cache_config.yml")
    assert set(config.namespaces) == {"api_responses", "research_content", "script_templates",
                                      "audio_synthesis"}
    assert config.ignored == () and config.cleanup_interval == 3600.0
    assert config["audio_synthesis"].memory_items == 8
    assert config["api_responses"].memory_items == 256  # from defaults


def test_unknown_key_warns_with_the_closest_known_one():
    with pytest.warns(CacheConfigWarning, match=r"unknown key `tll`.*did you mean `ttl`"):
        config = parse_config("cache_layers:\n  api:\n    tll: 60\n")
    assert config["api"].ttl is None


def test_unknown_top_level_and_defaults_keys_warn():
    with pytest.warns(CacheConfigWarning) as caught:
        parse_config({"cache_layers": {"a": {}}, "colour": "blue", "defaults": {"ttl": 5, "zip": 1}})
    assert len(caught) == 2


def test_defaults_apply_and_namespaces_override_them():
    config = parse_config({"defaults": {"ttl": "1h", "compress": True},
                           "cache_layers": {"a": None, "b": {"ttl": 10}}})
    assert (config["a"].ttl, config["a"].compress) == (3600.0, True)
    assert (config["b"].ttl, config["b"].compress) == (10.0, True)


@pytest.mark.parametrize(("text", "match"), [
    ("cache_layers: [", r"not valid YAML .*line 1"),
    ("cache_layers:\n  a: {ttl: 1\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("defaults: {}\n", "`cache_layers` must map"),
    ("cache_layers: {}\n", "`cache_layers` must map"),
    ("cache_layers: {a: 5}\n", r"cache_layers.a must be a mapping"),
    ("cache_layers: {a: {max_size: 500 megs}}\n", r"cache_layers.a.max_size: '500 megs' is not a size"),
    ("cache_layers: {a: {ttl: -1}}\n", r"cache_layers.a.ttl"),
    ("cache_layers: {a: {compress: maybe}}\n", r"compress: use true or false"),
    ("cache_layers: {a: {memory_items: -1}}\n", r"memory_items"),
    ("cache_layers: {'a b': {}}\n", r"namespace name"),
    ("cache_layers: {a: {}}\ndefaults: 3\n", r"`defaults` must be a mapping"),
    ("cache_layers: {a: {}}\ncleanup_interval: never\n", r"cleanup_interval"),
])
def test_bad_configs_raise_one_clear_error(text, match):
    with pytest.raises(CacheConfigError, match=match) as info:
        parse_config(text, source="cache_config.yml")
    assert isinstance(info.value, LabkitError)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CacheConfigError, match="cannot read the cache config"):
        load_config(tmp_path / "nope.yml")


def test_cache_from_yaml_has_its_namespaces_with_their_policies(tmp_path):
    cache = Cache(tmp_path / "c.db", DATA / "cache_config.yml")
    assert set(cache.namespaces) == set(load_config(DATA / "cache_config.yml").namespaces)
    assert cache["api_responses"].config.ttl == 3600.0
    with pytest.raises(CacheError, match="unknown cache namespace 'api_response'"):
        cache.namespace("api_response")
    cache.close()


def test_cleanup_interval_null_turns_automatic_cleanup_off():
    config = parse_config("cleanup_interval: null\ncache_layers: {a: {}}\n")
    assert config.cleanup_interval is None
