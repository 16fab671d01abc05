"""Thinking: which modes a model accepts, how long it thinks, what it shows, and what that buys.

- **Modes** come from each model's profile in `data/models.yaml` (`thinking.modes`): `enabled` (a
  manual `budget_tokens`), `adaptive` (with `output_config.effort`) and `disabled`. Asking for a mode
  the model lacks is a 400 whose message starts `"thinking.type.<mode>" is not supported` (reference
  §6). Without a `thinking` field a model thinks only if it cannot turn thinking off (Opus 5.5 is
  "always on"): adaptively, at its default effort.
- **How long** (ASSUMPTIONS, docs/simulator.md "Thinking"): a prompt *needs* NEED_BASE +
  NEED_PER_CONCEPT tokens of thought per concept it names. Adaptive thinking plans need x the
  effort's depth (x +-15% seeded jitter) and skips thinking when that is under MIN_ADAPTIVE tokens;
  a manual budget thinks min(budget, need x ENABLED_DEPTH). Thinking tokens are output tokens,
  generated at the model's output speed before any text, and count toward `max_tokens`.
- **What it buys**: depth = thinking tokens / need lowers the answer's drift rate
  (`content.drift_rate`), which is what `labkit.quality.score` measures.
- **What it shows**: a summary of about SUMMARY_BASE + thinking/SUMMARY_SHARE tokens (billing
  counts the full thinking, as the docs say), or nothing with `display: omitted`; always a signature.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import random
from collections.abc import Sequence
from typing import Any

from ..models import ModelProfile
from .content import Concept, Corpus, Count
from .wire import invalid

MODES = ("enabled", "adaptive", "disabled", "between_tools")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
# The effort the API uses when a request names none and the model's profile gives no default.
API_DEFAULT_EFFORT = "high"
DISPLAYS = ("summarized", "omitted")
MIN_BUDGET = 1024  # SDK docstring: budget_tokens "Must be >=1024 and less than max_tokens"
NEED_BASE = 400
NEED_PER_CONCEPT = 600
EFFORT_DEPTH = {"low": 0.25, "medium": 0.5, "high": 1.0, "xhigh": 1.6, "max": 2.5}
ENABLED_DEPTH = 1.6
MIN_ADAPTIVE = 256
JITTER = 0.15
SUMMARY_BASE = 60
SUMMARY_SHARE = 8


@dataclasses.dataclass(frozen=True)
class Thinking:
    """How a request thinks; `requested` is whether it asked to (only then does tool_choice clash)."""

    mode: str  # "off", "adaptive" or "enabled"
    effort: str | None = None
    budget: int | None = None
    display: str = "summarized"
    requested: bool = False

    @property
    def on(self) -> bool:
        return self.mode != "off"


OFF = Thinking("off")


def resolve(params: dict[str, Any], profile: ModelProfile, *, counting: bool = False) -> Thinking:
    """The request's thinking on this model, or the 400 the API gives for it."""
    effort = _effort(params.get("output_config"))
    config = params.get("thinking")
    if config is None:
        if "disabled" in profile.thinking_modes or "adaptive" not in profile.thinking_modes:
            return OFF
        return Thinking("adaptive", effort or profile.default_effort or API_DEFAULT_EFFORT)
    if not isinstance(config, dict) or config.get("type") not in MODES:
        raise invalid("thinking.type: Input should be 'enabled', 'adaptive', 'disabled' or 'between_tools'")
    mode = config["type"]
    if mode not in profile.thinking_modes:
        raise invalid(_unsupported(mode))
    display = config.get("display") or "summarized"
    if display not in DISPLAYS:
        raise invalid(f"thinking.{mode}.display: Input should be 'summarized' or 'omitted'")
    if mode in ("disabled", "between_tools"):
        # between_tools only turns off up-front thinking (Sonnet 5.5 page); the simulator does not
        # model thinking between tool calls, so the answer is the same as with thinking disabled.
        return OFF
    if mode == "adaptive":
        thinking = Thinking("adaptive", effort or profile.default_effort or API_DEFAULT_EFFORT,
                            display=display, requested=True)
    else:
        thinking = Thinking("enabled", budget=_budget(config, params, counting), display=display,
                            requested=True)
    if (params.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
    return thinking


def _effort(output_config: Any) -> str | None:
    if output_config is None:
        return None
    if not isinstance(output_config, dict):
        raise invalid("output_config: Input should be an object")
    effort = output_config.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise invalid("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
    return effort


def _budget(config: dict, params: dict, counting: bool) -> int:
    budget = config.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < MIN_BUDGET:
        raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to "
                      f"{MIN_BUDGET}")
    if not counting and budget >= params["max_tokens"]:
        raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`")
    return budget


def _unsupported(mode: str) -> str:
    message = f'"thinking.type.{mode}" is not supported for this model.'
    if mode == "enabled":
        message += ' Use "thinking.type.adaptive" and "output_config.effort" to control thinking.'
    return message


def need(concepts_named: int) -> int:
    """Tokens of thought a prompt naming this many concepts deserves (depth 1.0)."""
    return NEED_BASE + NEED_PER_CONCEPT * concepts_named


def planned_tokens(thinking: Thinking, concepts_named: int, plan: str) -> int:
    """How many tokens the model thinks before answering (before any `max_tokens` cut); the jitter is
    seeded by the answer's plan and the settings that change how much it thinks (not `display`)."""
    if not thinking.on:
        return 0
    rng = random.Random(repr((plan, thinking.mode, thinking.effort, thinking.budget)))
    planned = need(concepts_named) * rng.uniform(1 - JITTER, 1 + JITTER)
    if thinking.mode == "adaptive":
        amount = round(planned * EFFORT_DEPTH[thinking.effort or API_DEFAULT_EFFORT])
        return amount if amount >= MIN_ADAPTIVE else 0
    return min(thinking.budget or MIN_BUDGET, round(planned * ENABLED_DEPTH))


def depth(thinking_tokens: int, concepts_named: int) -> float:
    return thinking_tokens / need(concepts_named)


def summary(corpus: Corpus, concepts: Sequence[Concept], thinking_tokens: int, count: Count) -> str:
    """The thinking text shown: notes on the named concepts, about as long as the docs' summaries."""
    target = min(thinking_tokens, SUMMARY_BASE + thinking_tokens // SUMMARY_SHARE)
    subject = ", ".join(c.name for c in concepts) or "podcast production"
    lines = [f"The request is about {subject}; keep settled findings apart from open debates."]
    notes = ([f"{c.name}: {fact}" for facts in zip(*(c.facts for c in concepts))
              for c, fact in zip(concepts, facts)] if concepts else corpus.generic)
    used = count(lines[0])
    for note in notes:
        if used >= target:
            break
        lines.append(note)
        used += count(note) + 1
    return "\n".join(lines)


def signature(*parts: Any) -> str:
    """An opaque, deterministic stand-in for the signature that lets a thinking block be passed back."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=64).digest()
    return base64.b64encode(digest + hashlib.blake2b(digest, digest_size=32).digest()).decode()
