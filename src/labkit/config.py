"""One configuration object, resolved once: notebook parameters, then environment, then defaults.

No other module reads environment variables: they ask `current()`. The API key is held here only to
hand to the SDK in live mode; it is excluded from `repr` and from `describe()`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

BACKENDS = ("sim", "live")
DEFAULT_TIME_SCALE = 0.01
DEFAULT_MODEL = "claude-haiku-5-5"

ENV_BACKEND = "LABKIT_BACKEND"
ENV_SEED = "LABKIT_SEED"
ENV_TIME_SCALE = "LABKIT_TIME_SCALE"
ENV_MODEL = "LABKIT_MODEL"
ENV_ROOT = "LABKIT_ROOT"
ENV_API_KEY = "ANTHROPIC_API_KEY"
# Set by the grader in a submission's kernel: the backend, seed and time scale of the environment win
# over values the notebook passes, so a submission always runs as the grader says.
ENV_LOCKED = "LABKIT_LOCKED"
LOCKED_FIELDS = ("backend", "seed", "time_scale")


@dataclasses.dataclass(frozen=True)
class Config:
    """How this process talks to Claude and where the course's files are.

    `time_scale` paces the simulated clock in real time, so that progress can be watched: 0.01
    turns a 3-second call into 30 ms of real waiting, 0 into none. It never changes a figure: every
    time is read on the simulated clock (`labkit.clock`). It has no effect in live mode.
    """

    backend: str = "sim"
    seed: int = 0
    time_scale: float = DEFAULT_TIME_SCALE
    model: str = DEFAULT_MODEL
    root: Path = dataclasses.field(default_factory=lambda: find_root())
    api_key: str | None = dataclasses.field(default=None, repr=False)

    @property
    def simulated(self) -> bool:
        return self.backend == "sim"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def state_dir(self) -> Path:
        """Where labkit keeps what it writes for itself (logs, caches): `.labkit/`, gitignored."""
        return self.root / ".labkit"

    def describe(self) -> str:
        """A one-line summary that is safe to print: it never includes the key."""
        if self.simulated:
            return (f"backend=sim (offline simulated Claude API), seed={self.seed}, "
                    f"time_scale={self.time_scale:g}, model={self.model}")
        return f"backend=live (real Claude API, key set), model={self.model}"


_current: Config | None = None


def find_root(start: Path | None = None) -> Path:
    """The course folder: the nearest parent holding both `pyproject.toml` and `data/`."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        if (folder / "pyproject.toml").is_file() and (folder / "data").is_dir():
            return folder
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "pyproject.toml").is_file() and (folder / "data").is_dir():
            return folder
    raise ConfigError(f"cannot find the labkit course folder; set {ENV_ROOT} to the folder holding data/")


def resolve(
    backend: str | None = None,
    seed: int | None = None,
    time_scale: float | None = None,
    model: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build a validated Config: explicit values win over `env` (default: os.environ), then defaults;
    under the grader (`LABKIT_LOCKED=1`) the environment's backend, seed and time scale win instead."""
    env = os.environ if env is None else env
    if env.get(ENV_LOCKED) == "1":
        backend, seed, time_scale = _locked(env, backend=backend, seed=seed, time_scale=time_scale)
    backend = (backend or env.get(ENV_BACKEND) or "sim").strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    seed = _parse(seed, env.get(ENV_SEED), int, "seed", 0)
    time_scale = _parse(time_scale, env.get(ENV_TIME_SCALE), float, "time_scale", DEFAULT_TIME_SCALE)
    if not 0 <= time_scale <= 10:
        raise ConfigError(f"time_scale must be between 0 and 10, got {time_scale:g}")
    api_key = env.get(ENV_API_KEY) or None
    if backend == "live" and not api_key:
        raise ConfigError(
            f"live mode needs {ENV_API_KEY} in the environment (set it in your shell, never in a "
            "notebook), or choose backend='sim' to run offline")
    root = Path(env[ENV_ROOT]).resolve() if env.get(ENV_ROOT) else find_root()
    return Config(backend=backend, seed=seed, time_scale=time_scale,
                  model=model or env.get(ENV_MODEL) or DEFAULT_MODEL, root=root, api_key=api_key)


def configure(**settings) -> Config:
    """Resolve and install the process-wide configuration (call it from a notebook's setup cell)."""
    global _current
    _current = resolve(**settings)
    return _current


def current() -> Config:
    """The installed configuration, resolved from the environment on first use."""
    global _current
    if _current is None:
        _current = resolve()
    return _current


def _locked(env: Mapping[str, str], **explicit: Any) -> tuple[None, None, None]:
    """Drop explicit values of the locked fields, saying so once per differing field."""
    sources = {"backend": ENV_BACKEND, "seed": ENV_SEED, "time_scale": ENV_TIME_SCALE}
    for name in LOCKED_FIELDS:
        value, wanted = explicit[name], env.get(sources[name])
        if value is not None and wanted is not None and str(value) != wanted and repr(value) != wanted:
            print(f"labkit: graded run: {name}={wanted} is used, as the grader sets it, not {value!r}")
    return None, None, None


def _parse(explicit, raw: str | None, kind: type, name: str, default):
    if explicit is not None:
        value = explicit
    elif raw is not None and raw.strip():
        value = raw
    else:
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a {kind.__name__}, got {value!r}") from None
