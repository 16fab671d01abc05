"""Model profiles (prices, latency, limits, tokenizer, capabilities) read from `data/models.yaml`.

Every figure in that file carries a source; this module only gives it types so that the simulator,
the cost function and the lessons read one table. A model is asked for by its canonical id or by one
of its declared aliases (dated snapshot ids such as `claude-haiku-4-5-20251001`); `Catalog.get`
resolves both to the same profile. Kept import-light: the Claude Code hook imports it.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import yaml

from . import config
from .errors import ConfigError, DataError

# The vocabularies of the catalogue file, as the SDK's ModelInfo names them (reference §9.4).
LINES = ("haiku", "sonnet", "opus", "fable", "mythos")  # types/model_line.py
LIFECYCLES = ("active", "deprecated")  # `retired` (inference refused) is not modelled
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")  # types/effort_capability.py
CONTEXT_STRATEGIES = ("clear_thinking_20251015", "clear_tool_uses_20250919", "compact_20260112")
SERVER_TOOLS = ("code_execution", "web_search")  # types/server_tools_capability.py
FAST_MODE_STATUSES = ("ga", "research_preview")
CAPABILITY_FLAGS = ("batch", "citations", "code_execution", "image_input", "pdf_input", "structured_outputs")


@dataclasses.dataclass(frozen=True)
class Latency:
    ttft_s: float
    output_tokens_per_s: float
    prefill_tokens_per_s: float
    proxy_for: str | None = None


@dataclasses.dataclass(frozen=True)
class Prices:
    """USD per million tokens; `threshold_tokens` is set for a long-context band."""

    input: float
    output: float
    threshold_tokens: int | None = None


@dataclasses.dataclass(frozen=True)
class FastMode:
    """`speed: "fast"` on a model (reference §7.1 "Fast mode"): output tokens per second times
    `output_speedup`, time to first token unchanged. A research preview needs the `beta` header;
    `price_multiplier` is None where no fast-mode price is published."""

    output_speedup: float
    status: str  # "ga" or "research_preview"
    beta: str | None
    price_multiplier: float | None


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What `GET /v1/models` reports a model supports besides thinking (whose types are the profile's
    `thinking_modes`). Mostly ASSUMPTIONS (data/models.yaml): no per-model table is published."""

    batch: bool
    citations: bool
    code_execution: bool  # programmatic tool calling from the code execution tool
    image_input: bool
    pdf_input: bool
    structured_outputs: bool
    context_management: tuple[str, ...]  # supported strategies, of CONTEXT_STRATEGIES
    effort: tuple[str, ...]  # supported `output_config.effort` levels; empty: no effort
    server_tools: tuple[str, ...]  # of SERVER_TOOLS


@dataclasses.dataclass(frozen=True)
class ModelProfile:
    id: str
    display_name: str
    released: str  # as the model page gives it: `2026-10-07`, `2026-09` or `2026`
    context_window: int
    max_output_tokens: int
    prices: Prices
    long_context_prices: Prices | None
    cache_write_5m_multiplier: float
    cache_write_1h_multiplier: float
    cache_read_multiplier: float
    batch_discount: float
    latency: Latency
    cached_prefill_speedup: float
    min_cacheable_tokens: int
    tokenizer_ratio: float
    thinking_modes: tuple[str, ...]
    deprecated_thinking_modes: tuple[str, ...]
    default_effort: str | None
    aliases: tuple[str, ...]  # other ids that name this model, e.g. a dated snapshot id
    line: str  # of LINES
    lifecycle: str  # of LIFECYCLES
    deprecated_at: str | None  # dates as the sources give them, like `released`
    retires_at: str | None
    prefill: bool  # whether a final assistant turn is accepted (reference §1.3; an ASSUMPTION per model)
    fast_mode: FastMode | None  # None: `speed: "fast"` is not offered
    capabilities: Capabilities


@dataclasses.dataclass(frozen=True)
class RateLimitTier:
    """Per-minute limits of one usage tier, per model class; `batch_queue_requests` None: not published."""

    name: str
    requests_per_minute: int
    input_tokens_per_minute: int
    output_tokens_per_minute: int
    batch_queue_requests: int | None
    source: str


@dataclasses.dataclass(frozen=True)
class BatchLimits:
    """Message Batches limits (published) and the simulated service's processing pace (assumed)."""

    max_requests: int
    max_bytes: int
    lifetime_s: float
    queue_delay_s: float
    concurrency: int
    cancel_settle_s: float


@dataclasses.dataclass(frozen=True)
class Catalog:
    default_model: str
    models: dict[str, ModelProfile]  # by canonical id
    aliases: dict[str, str]  # alias -> canonical id
    sources: dict[str, str]
    tiers: dict[str, RateLimitTier]
    default_tier: str
    batches: BatchLimits
    timeout_after_s: float

    def tier(self, name: str | None = None) -> RateLimitTier:
        """A rate-limit tier by name (`tier1`, `start`, ...); the default tier when none is named."""
        key = (name or self.default_tier).strip().lower()
        if key not in self.tiers:
            raise ConfigError(f"unknown rate-limit tier {key!r}: known tiers are {', '.join(self.tiers)}")
        return self.tiers[key]

    def get(self, model_id: str) -> ModelProfile:
        """A model by its canonical id or an alias; ConfigError for an id the catalogue lacks (the
        simulator answers it with a 404 `model: <id>`).

        The profile's `id` is the canonical one. Whether the real API's Message `model` field echoes
        an alias or reports the canonical id is not documented (reference §1.4; the SDK says only that
        a refusal fallback's `from.model` echoes "the model string the caller sent (alias or
        canonical)"), so a response should echo the requested string rather than `profile.id`."""
        try:
            return self.models[self.aliases.get(model_id, model_id)]
        except KeyError:
            raise ConfigError(
                f"unknown model {model_id!r}: known models are {', '.join(self.models)}") from None


def catalog(path: Path | None = None) -> Catalog:
    """The model catalogue of the configured course folder (read once per path)."""
    return _load(path or config.current().data_dir / "models.yaml")


def profile(model_id: str | None = None) -> ModelProfile:
    """One model's profile; the configured model when none is named."""
    return catalog().get(model_id or config.current().model)


@functools.cache
def _load(path: Path) -> Catalog:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = raw["defaults"]
        models = {mid: _profile(mid, spec, defaults) for mid, spec in raw["models"].items()}
        aliases = _aliases(models)
        limits = raw["rate_limits"]
        tiers = {name: _tier(name, spec) for name, spec in limits["tiers"].items()}
        batches = _batches(raw["batches"])
        timeout_after_s = float(raw["faults"]["timeout_after_s"]["value"])
    except FileNotFoundError:
        raise DataError(f"model profiles not found at {path}") from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"malformed model profiles in {path}: {exc}") from None
    return Catalog(default_model=defaults["model"], models=models, aliases=aliases,
                   sources=dict(raw.get("sources", {})),
                   tiers=tiers, default_tier=limits["default_tier"], batches=batches,
                   timeout_after_s=timeout_after_s)


def _aliases(models: dict[str, ModelProfile]) -> dict[str, str]:
    """alias -> canonical id; an alias naming two models, or a canonical id, is a malformed file."""
    aliases: dict[str, str] = {}
    for profile in models.values():
        for alias in profile.aliases:
            if alias in models or alias in aliases:
                raise ValueError(f"alias {alias!r} of {profile.id} already names a model")
            aliases[alias] = profile.id
    return aliases


def _tier(name: str, spec: dict) -> RateLimitTier:
    queue = spec.get("batch_queue_requests")
    return RateLimitTier(
        name=name,
        requests_per_minute=int(spec["requests_per_minute"]),
        input_tokens_per_minute=int(spec["input_tokens_per_minute"]),
        output_tokens_per_minute=int(spec["output_tokens_per_minute"]),
        batch_queue_requests=None if queue is None else int(queue),
        source=spec["source"],
    )


def _batches(spec: dict) -> BatchLimits:
    return BatchLimits(
        max_requests=int(spec["max_requests"]["value"]),
        max_bytes=int(spec["max_bytes"]["value"]),
        lifetime_s=float(spec["lifetime_hours"]["value"]) * 3600,
        queue_delay_s=float(spec["queue_delay_s"]["value"]),
        concurrency=int(spec["concurrency"]["value"]),
        cancel_settle_s=float(spec["cancel_settle_s"]["value"]),
    )


def _profile(model_id: str, spec: dict, defaults: dict) -> ModelProfile:
    def pick(key: str):
        return spec.get(key, defaults.get(key))

    long = spec.get("long_context_prices")
    thinking = spec["thinking"]
    lifecycle = spec.get("lifecycle", {"stage": "active"})
    fast = spec.get("fast_mode")
    return ModelProfile(
        id=model_id,
        display_name=spec["display_name"],
        released=str(spec.get("released", "")),
        context_window=int(spec["context_window"]),
        max_output_tokens=int(spec["max_output_tokens"]),
        prices=Prices(float(spec["prices"]["input"]), float(spec["prices"]["output"])),
        long_context_prices=(Prices(float(long["input"]), float(long["output"]), int(long["threshold_tokens"]))
                             if long else None),
        cache_write_5m_multiplier=float(pick("cache_write_5m_multiplier")),
        cache_write_1h_multiplier=float(pick("cache_write_1h_multiplier")),
        cache_read_multiplier=float(pick("cache_read_multiplier")),
        batch_discount=float(pick("batch_discount")),
        latency=Latency(
            ttft_s=float(spec["latency"]["ttft_s"]),
            output_tokens_per_s=float(spec["latency"]["output_tokens_per_s"]),
            prefill_tokens_per_s=float(spec["latency"]["prefill_tokens_per_s"]),
            proxy_for=spec["latency"].get("proxy_for"),
        ),
        cached_prefill_speedup=float(pick("cached_prefill_speedup")),
        min_cacheable_tokens=int(spec["min_cacheable_tokens"]["value"]),
        tokenizer_ratio=float(spec["tokenizer_ratio"]["value"]),
        thinking_modes=tuple(thinking["modes"]),
        deprecated_thinking_modes=tuple(thinking.get("deprecated", ())),
        default_effort=thinking.get("default_effort"),
        aliases=tuple(spec.get("aliases", {}).get("ids", ())),
        line=_one_of(spec["line"], LINES, "line"),
        lifecycle=_one_of(lifecycle["stage"], LIFECYCLES, "lifecycle"),
        deprecated_at=_date(lifecycle.get("deprecated_at")),
        retires_at=_date(lifecycle.get("retires_at")),
        prefill=bool(pick("prefill")["value"]),
        fast_mode=(FastMode(output_speedup=float(fast["output_speedup"]),
                            status=_one_of(fast["status"], FAST_MODE_STATUSES, "fast_mode.status"),
                            beta=fast.get("beta"),
                            price_multiplier=None if fast.get("price_multiplier") is None
                            else float(fast["price_multiplier"]))
                   if fast else None),
        capabilities=_capabilities({**defaults["capabilities"], **spec.get("capabilities", {})}),
    )


def _capabilities(spec: dict) -> Capabilities:
    def names(key: str, known: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_one_of(name, known, f"capabilities.{key}") for name in spec[key])

    return Capabilities(
        **{flag: bool(spec[flag]) for flag in CAPABILITY_FLAGS},
        context_management=names("context_management", CONTEXT_STRATEGIES),
        effort=names("effort", EFFORT_LEVELS),
        server_tools=names("server_tools", SERVER_TOOLS),
    )


def _one_of(value: str, known: tuple[str, ...], field: str) -> str:
    if value not in known:
        raise ValueError(f"{field} {value!r} is not one of {', '.join(known)}")
    return value


def _date(value: str | None) -> str | None:
    return None if value is None else str(value)
