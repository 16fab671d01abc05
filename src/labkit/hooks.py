"""A Claude Code hook that records how full the context window is, in the form real hooks take.

Claude Code runs a command hook with **one JSON event on stdin** (code.claude.com/docs/en/hooks,
"Hook input"): common fields `session_id`, `transcript_path`, `cwd`, `permission_mode`,
`hook_event_name`, plus per-event ones (`tool_name`, `tool_input`, `tool_use_id` for PreToolUse;
`tool_response` for PostToolUse; `prompt` for UserPromptSubmit; `trigger` and `custom_instructions`
for PreCompact). It reads the hook's **exit code** ("Exit code output"): 0 is success (stdout may
carry a JSON reply such as `{"systemMessage": ...}`, shown to the user); 2 is a blocking error whose
stderr is fed back (on UserPromptSubmit the prompt is blocked and erased, and stderr goes to the user);
any other code is a non-blocking error shown to the user while work goes on. The guide's hooks read
environment variables (`$TOOL_SUCCESS`, `$TOOL_TYPE`, `$TOOL_OUTPUT`) that Claude Code does not set.

No hook event carries the context size, and no hook can run `/compact` (Claude Code compacts on its
own, at a threshold `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE` can lower). So this hook reads the size where
Claude Code writes it: the `usage` of the newest assistant entry of the session's transcript
(JSON lines), input + cache writes + cache reads, against the window of that entry's `model` in
`data/models.yaml`. Without a transcript it records an estimate of the event's own text instead
(`source: "event-estimate"`: what this event adds, not how full the window is). Each event becomes one
JSON line in the log. At or over the threshold it warns the user (`systemMessage`; not on PreCompact
or SessionEnd, where that advice is moot); with `--block` it also refuses a new prompt (exit 2 on
UserPromptSubmit) until someone runs `/compact`.

Errors never exit 2, which would block Claude: malformed input exits 1 and leaves the log untouched;
an unreadable transcript exits 1 after logging the event-text estimate with the reason.

    python -m labkit.hooks [--log PATH] [--threshold 0.75] [--window N] [--model ID] [--block]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import config, models, tokens
from .errors import LabkitError
from .memory.tracker import DEFAULT_THRESHOLD, usage_tokens

EXIT_OK, EXIT_ERROR, EXIT_BLOCK = 0, 1, 2
# Where exit code 2 stops something the user can fix by compacting: a new prompt. (On PreToolUse it
# would refuse every tool call until the user acts, which stalls the agent instead.)
BLOCKING_EVENTS = frozenset({"UserPromptSubmit"})
# Where "run /compact" is no advice: Claude Code is compacting already, or the session is over.
QUIET_EVENTS = frozenset({"PreCompact", "SessionEnd"})
REQUIRED_FIELDS = ("session_id", "hook_event_name")
LOG_NAME = "context_log.jsonl"


class HookError(LabkitError, ValueError):
    """Input the hook cannot use: not JSON, or not a hook event."""


class TranscriptError(HookError):
    """A transcript that is missing or cannot be read."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """How many tokens are in the window, where that figure comes from, and for which model."""

    tokens: int
    source: str  # "transcript-usage", "transcript-estimate" or "event-estimate"
    model: str | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the hook does with one event: its exit code, its stdout and stderr, and the logged line."""

    code: int
    stdout: str = ""
    stderr: str = ""
    record: dict[str, Any] | None = None


def default_log() -> Path:
    """`.labkit/context_log.jsonl` under the course folder (gitignored)."""
    return config.current().state_dir / LOG_NAME


def parse_event(raw: str) -> dict[str, Any]:
    """One hook event from stdin text, or a HookError saying what is wrong with it."""
    if not raw.strip():
        raise HookError("no event on stdin: Claude Code sends one JSON object per hook call")
    try:
        event = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HookError(f"stdin is not valid JSON ({exc})") from None
    if not isinstance(event, dict):
        raise HookError(f"expected a JSON object with the event's fields, got a JSON {type(event).__name__}")
    missing = [field for field in REQUIRED_FIELDS if not isinstance(event.get(field), str) or not event[field]]
    if missing:
        raise HookError(f"not a hook event: missing {', '.join(missing)}")
    return event


def read_transcript(path: Path, base: Path | None = None) -> Reading:
    """The context size at the session's latest request, from its transcript (JSON lines).

    The newest entry with `message.usage` gives it exactly; a transcript with none yet (a session
    that has only user turns) gives an estimate of its messages' text. Lines that are not JSON (a line
    Claude Code is still writing) are skipped. Claude Code sends absolute paths; a relative one is
    read from `base` (the hook's working directory) and named as given in errors.
    """
    try:
        lines = (path if path.is_absolute() or base is None else base / path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TranscriptError(f"transcript {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot read transcript {path}: {exc}") from None
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("message"), dict):
            entries.append(entry["message"])
    for message in reversed(entries):
        if isinstance(message.get("usage"), Mapping):
            return Reading(usage_tokens(message["usage"]), "transcript-usage", message.get("model"))
    text = "\n".join(tokens.content_text(m.get("content") or "") for m in entries)
    return Reading(tokens.estimate(text), "transcript-estimate")


def event_reading(event: Mapping[str, Any]) -> Reading:
    """An estimate of the event's own text (prompt, tool input and response): a lower bound on what it
    adds to the window, used when there is no transcript to read."""
    parts = [event.get(k) for k in ("prompt", "tool_input", "tool_response", "custom_instructions")]
    text = "\n".join(p if isinstance(p, str) else json.dumps(p, sort_keys=True) for p in parts if p)
    return Reading(tokens.estimate(text), "event-estimate")


def window_for(reading: Reading, window: int | None = None, model: str | None = None) -> int:
    """The window to compare with: `window` if given, else that of the transcript's model when the
    catalogue knows it (also under a dated id such as `claude-haiku-4-5-20251001`), else that of
    `model` (the configured model by default)."""
    if window is not None:
        return window
    known = models.catalog().models
    name = reading.model or ""
    matches = [mid for mid in known if name == mid or name.startswith(mid + "-")]
    return known[max(matches, key=len)].context_window if matches else models.profile(model).context_window


def handle(raw: str, *, log: Path, threshold: float = DEFAULT_THRESHOLD, window: int | None = None,
           model: str | None = None, block: bool = False, cwd: Path | None = None) -> Outcome:
    """Process one event's stdin text: log a line, and decide the exit code and messages."""
    try:
        event = parse_event(raw)
    except HookError as exc:
        return Outcome(EXIT_ERROR, stderr=f"labkit hook: {exc}; nothing was logged")
    problem = None
    path = event.get("transcript_path")
    if isinstance(path, str) and path:
        try:
            reading = read_transcript(Path(path), cwd)
        except TranscriptError as exc:
            problem = str(exc)
            reading = event_reading(event)
    else:
        reading = event_reading(event)
    measured = reading.source != "event-estimate"  # an event's own text says nothing about the window
    size = window_for(reading, window, model) if measured else None
    share = reading.tokens / size if size else None
    over = share is not None and share >= threshold and event["hook_event_name"] not in QUIET_EVENTS
    blocked = over and block and event["hook_event_name"] in BLOCKING_EVENTS
    record = {
        "logged_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "session_id": event["session_id"], "event": event["hook_event_name"],
        "tool": event.get("tool_name"), "trigger": event.get("trigger"),
        "tokens": reading.tokens, "source": reading.source, "window": size,
        "share": None if share is None else round(share, 4), "threshold": threshold,
        "action": "blocked" if blocked else "warned" if over else "recorded",
    }
    if problem:
        record["error"] = problem
    try:
        append(log, record)
    except OSError as exc:
        return Outcome(EXIT_ERROR, stderr=f"labkit hook: cannot write the log {log}: {exc}")
    if problem:
        return Outcome(EXIT_ERROR, stderr=f"labkit hook: {problem}; logged an estimate of the event instead",
                       record=record)
    if not over:
        return Outcome(EXIT_OK, record=record)
    message = (f"context at {share:.0%} of the {size:,}-token window (threshold {threshold:.0%}): "
               "run /compact before it fills up")
    if blocked:
        return Outcome(EXIT_BLOCK, stderr=message, record=record)
    return Outcome(EXIT_OK, stdout=json.dumps({"systemMessage": message}), record=record)


def append(log: Path, record: Mapping[str, Any]) -> None:
    """Add one line to the JSON-lines log in a single write, so a line is never left half-written
    by this hook."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


def read_log(log: Path) -> list[dict[str, Any]]:
    """Every record of a log (none if it does not exist yet)."""
    if not log.exists():
        return []
    try:
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise HookError(f"the log {log} has a malformed line ({exc.msg}): it was not written by this hook") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", type=Path, default=None,
                        help=f"JSON-lines log to append to (default: <course>/.labkit/{LOG_NAME})")
    parser.add_argument("--threshold", type=_share, default=DEFAULT_THRESHOLD,
                        help="share of the window that triggers the warning (default: 0.75)")
    parser.add_argument("--window", type=_positive, default=None,
                        help="window in tokens (default: the transcript's model's, from data/models.yaml)")
    parser.add_argument("--model", default=None, help="model whose window to use when the transcript names none")
    parser.add_argument("--block", action="store_true",
                        help="at or over the threshold, refuse new prompts (exit 2 on UserPromptSubmit)")


def main(args: argparse.Namespace) -> int:
    """Read one event from stdin, log it, print the messages and return the hook's exit code.

    Every failure returns 1 rather than raising: a LabkitError reaching `labkit`'s CLI would exit 2,
    which Claude Code reads as "block"."""
    try:
        log = args.log or default_log()
        outcome = handle(sys.stdin.read(), log=log, threshold=args.threshold, window=args.window,
                         model=args.model, block=args.block, cwd=Path.cwd())
    except (LabkitError, OSError) as exc:
        outcome = Outcome(EXIT_ERROR, stderr=f"labkit hook: {exc}")
    if outcome.stdout:
        print(outcome.stdout)
    if outcome.stderr:
        print(outcome.stderr, file=sys.stderr)
    return outcome.code


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad option; a hook must not, since 2 means "block"."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def cli(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m labkit.hooks", description=__doc__.split("\n", 1)[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a share of the window in (0, 1], got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a positive number of tokens, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(cli())
