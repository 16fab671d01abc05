"""The model catalogue (data/models.yaml) as real clients meet it: the ids the SDK names resolve, aliases
and dated ids reach the same profile, and `GET /v1/models` answers exactly the SDK's ModelInfo shape."""

from __future__ import annotations

import datetime
import typing

import anthropic
import pydantic
import pytest
import yaml
from anthropic.types import Model, ModelInfo

from labkit import models
from labkit.config import find_root
from labkit.errors import ConfigError, DataError
from labkit.sim import thinking

MODELS_YAML = find_root() / "data" / "models.yaml"
# The SDK literals the reference gives no figures for (data/models.yaml, header): no profile.
UNPROFILED = {"claude-mythos-5-2", "claude-mythos-5-1", "claude-mythos-5", "claude-mythos-preview"}
ASK = [{"role": "user", "content": "Why does a podcast need loudness normalisation?"}]


def sdk_model_ids() -> list[str]:
    literal = next(arg for arg in typing.get_args(Model) if typing.get_origin(arg) is typing.Literal)
    return list(typing.get_args(literal))


@pytest.fixture(scope="module")
def catalog() -> models.Catalog:
    return models.catalog(MODELS_YAML)


# --- ids, aliases and dated ids ----------------------------------------------------------------

@pytest.mark.parametrize("model_id", sorted(set(sdk_model_ids()) - UNPROFILED))
def test_every_sdk_model_with_figures_resolves(api_client, model_id):
    info = api_client.models.retrieve(model_id)
    assert info.type == "model" and info.capabilities is not None


def test_the_brief_models_are_in_the_catalogue(catalog):
    for model_id in ("claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-5", "claude-sonnet-4-5",
                     "claude-sonnet-5", "claude-opus-5", "claude-fable-5-1"):
        assert catalog.get(model_id).id == model_id


@pytest.mark.filterwarnings("ignore:The model 'claude-opus-4-5-20251101' is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("alias", "canonical"), [("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
                                                  ("claude-opus-4-5-20251101", "claude-opus-4-5")])
def test_a_dated_id_and_its_alias_resolve_to_one_profile(api_client, catalog, alias, canonical):
    assert catalog.get(alias) is catalog.get(canonical)
    assert api_client.models.retrieve(alias).id == canonical  # retrieve resolves an alias to the id
    answer = api_client.messages.create(model=alias, max_tokens=64, messages=ASK)
    assert answer.stop_reason in ("end_turn", "max_tokens")


def test_an_unknown_model_is_a_clear_error(api_client, catalog):
    with pytest.raises(ConfigError, match="unknown model 'claude-nope-1'"):
        catalog.get("claude-nope-1")
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nope-1"):
        api_client.models.retrieve("claude-nope-1")
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nope-1"):
        api_client.messages.create(model="claude-nope-1", max_tokens=64, messages=ASK)


def test_an_alias_that_names_two_models_is_a_malformed_file(tmp_path):
    raw = yaml.safe_load(MODELS_YAML.read_text(encoding="utf-8"))
    raw["models"]["claude-opus-4-8"]["aliases"] = {"ids": ["claude-haiku-4-5"], "source": "sdk-models"}
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(DataError, match="already names a model"):
        models.catalog(path)


# --- GET /v1/models ----------------------------------------------------------------------------

def shape_errors(model: type[pydantic.BaseModel], data: dict, where: str = "") -> list[str]:
    """Fields of `data` the SDK model lacks, fields it has that `data` lacks, recursively."""
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    errors = [f"{where}{key}: extra" for key in data if key not in fields]
    errors += [f"{where}{key}: missing" for key in fields if key not in data]
    for key, info in fields.items():
        inner = [t for t in (info.annotation, *typing.get_args(info.annotation))
                 if isinstance(t, type) and issubclass(t, pydantic.BaseModel)]
        if inner and isinstance(data.get(key), dict):
            errors += shape_errors(inner[0], data[key], f"{where}{key}.")
    return errors


def test_model_info_has_exactly_the_sdk_fields(api_client, catalog):
    for model_id in catalog.models:
        body = api_client.models.with_raw_response.retrieve(model_id).json()
        assert shape_errors(ModelInfo, body) == [], model_id
        ModelInfo.model_validate(body)


def test_models_list_pages_through_every_profile_with_capabilities(api_client, catalog):
    first = api_client.models.list(limit=4)
    assert len(first.data) == 4 and first.has_more
    listed = list(api_client.models.list(limit=4))  # auto-pagination follows after_id
    assert sorted(m.id for m in listed) == sorted(catalog.models)
    assert all(m.capabilities is not None and m.line is not None for m in listed)
    created = [m.created_at for m in listed]
    assert created == sorted(created, reverse=True)


def test_capabilities_follow_the_profile(api_client):
    opus = api_client.models.retrieve("claude-opus-4-8").capabilities
    types_ = opus.thinking.types
    assert (types_.adaptive.supported, types_.disabled.supported, types_.enabled.supported) == (True, True, False)
    assert opus.effort.supported and opus.effort.xhigh.supported
    always_on = api_client.models.retrieve("claude-opus-5-5").capabilities.thinking.types
    assert not always_on.disabled.supported  # Opus 5.5 thinking cannot be turned off
    haiku = api_client.models.retrieve("claude-haiku-4-5").capabilities
    assert haiku.thinking.types.enabled.supported and not haiku.effort.supported


def test_deprecated_models_say_when_they_retire(api_client):
    sonnet = api_client.models.retrieve("claude-sonnet-4-5")
    assert sonnet.lifecycle == "deprecated" and sonnet.retires_at.date() == datetime.date(2026, 11, 30)
    assert sonnet.deprecated_at is not None
    opus = api_client.models.retrieve("claude-opus-4-5-20251101")
    assert opus.lifecycle == "deprecated" and opus.retires_at.date() == datetime.date(2027, 1, 22)
    current = api_client.models.retrieve("claude-opus-4-8")
    assert (current.lifecycle, current.deprecated_at, current.retires_at) == ("active", None, None)


# --- profile fields other parts of the simulator read -------------------------------------------

def test_prefill_and_fast_mode_are_typed_profile_fields(catalog):
    assert catalog.get("claude-haiku-4-5").prefill and catalog.get("claude-sonnet-4-5").prefill
    assert not catalog.get("claude-opus-4-8").prefill and not catalog.get("claude-haiku-5-5").prefill
    assert catalog.get("claude-opus-5-5").fast_mode == models.FastMode(2.5, "ga", None, None)
    preview = catalog.get("claude-opus-4-8").fast_mode
    assert (preview.status, preview.beta, preview.output_speedup) == ("research_preview", "fast-mode-2026-02-01", 2.5)
    assert catalog.get("claude-opus-5").fast_mode.price_multiplier == 2.0
    assert catalog.get("claude-haiku-4-5").fast_mode is None


def test_the_existing_profiles_keep_their_figures(catalog):
    haiku = catalog.get("claude-haiku-5-5")
    assert (haiku.prices.input, haiku.prices.output, haiku.long_context_prices.input) == (0.10, 0.50, 0.50)
    assert (haiku.latency.ttft_s, haiku.min_cacheable_tokens, haiku.default_effort) == (0.48, 1024, "medium")
    opus = catalog.get("claude-opus-4-6")
    assert (opus.prices.input, opus.context_window, opus.released) == (5.0, 1_000_000, "2026")
    assert opus.deprecated_thinking_modes == ("enabled",)


def test_the_effort_vocabulary_is_the_simulators(catalog):
    assert models.EFFORT_LEVELS == thinking.EFFORTS
    for profile in catalog.models.values():
        assert set(profile.thinking_modes) <= set(thinking.MODES), profile.id
        assert profile.default_effort is None or profile.default_effort in profile.capabilities.effort


def test_every_source_key_is_in_the_sources_table():
    raw = yaml.safe_load(MODELS_YAML.read_text(encoding="utf-8"))
    sources = raw["sources"]

    def keys(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "source" or key.endswith("_source"):
                    yield f"{where}.{key}", value
                yield from keys(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from keys(value, f"{where}[{i}]")

    missing = [(where, key) for where, key in keys({k: v for k, v in raw.items() if k != "sources"}, "")
               if key not in sources]
    assert missing == []
    for model_id, spec in raw["models"].items():  # each model's figure groups name a source
        for group in ("prices", "latency", "min_cacheable_tokens", "tokenizer_ratio", "thinking"):
            assert "source" in spec[group], (model_id, group)


# --- the Claude Code CLI's default model --------------------------------------------------------

def test_opus_4_8_answers_with_adaptive_thinking(api_client):
    answer = api_client.messages.create(model="claude-opus-4-8", max_tokens=4000, messages=ASK,
                                        thinking={"type": "adaptive"}, output_config={"effort": "high"})
    assert answer.model == "claude-opus-4-8" and answer.stop_reason == "end_turn"
    assert [b.type for b in answer.content][-1] == "text"
    assert answer.usage.output_tokens > 0
    with pytest.raises(anthropic.BadRequestError, match='"thinking.type.enabled" is not supported'):
        api_client.messages.create(model="claude-opus-4-8", max_tokens=4000, messages=ASK,
                                   thinking={"type": "enabled", "budget_tokens": 2048})
