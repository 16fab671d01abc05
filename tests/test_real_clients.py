"""Real clients against `labkit serve`, offline: the official JS SDK and the Claude Code CLI.

`python3 bootstrap.py test` installs the pinned clients (tests/clients/package.json) into
.labkit/clients/ when npm is present; without them these tests skip and say why. A mock of a client a
learner really runs would prove nothing, so nothing here is mocked: the clients are the npm packages,
talking HTTP to the simulator on a loopback port.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.clock import SimClock
from labkit.config import find_root
from labkit.sim import SimAPI
from labkit.sim.script import Script
from labkit.sim.server import SimHTTPServer, running

ROOT = find_root()
CLIENTS = ROOT / ".labkit" / "clients"
NODE_MODULES = CLIENTS / "node_modules"


def _need(relative: str, what: str) -> Path:
    path = NODE_MODULES / relative
    if shutil.which("node") is None:
        pytest.skip(f"{what} needs Node.js, which is not installed on this machine")
    if not path.exists():
        pytest.skip(f"{what} is not installed in .labkit/clients/: `python3 bootstrap.py test` installs it "
                    "from the npm registry when npm is present (npm was missing or the install failed)")
    return path


def _serve(script: Script | None = None) -> Iterator[SimHTTPServer]:
    """`labkit serve` in this process, on a free loopback port, with a clock of its own."""
    api = SimAPI(seed=0, data_dir=ROOT / "data", clock=SimClock(include_creator=False), script=script)
    with running(api) as server:
        yield server


@pytest.fixture
def served() -> Iterator[SimHTTPServer]:
    yield from _serve()


def test_the_official_js_sdk_creates_streams_counts_lists_and_batches(served: SimHTTPServer) -> None:
    _need("@anthropic-ai/sdk/package.json", "The official JS SDK")
    done = subprocess.run(["node", str(ROOT / "tests" / "clients" / "sdk_smoke.cjs"), str(CLIENTS), served.url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["create"]["id"].startswith("msg_") and out["create"]["text"]
    assert out["create"]["stop"] in ("end_turn", "max_tokens")
    assert out["stream"]["deltas"] > 1 and out["stream"]["text"] == out["create"]["text"]
    assert out["countTokens"]["input_tokens"] == out["create"]["usage"]["input_tokens"]
    assert len(out["models"]) >= 2 and out["model"]["id"] == "claude-haiku-5-5"
    assert out["batch"]["id"].startswith("msgbatch_") and out["batch"]["counts"]["processing"] == 2


# ----------------------------------------------------------------------------- the Claude Code CLI

NOTES = "hello from the notes\nsecond line\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as a learner has it: a file to read, and the course's hooks in
    .claude/settings.json, each logging its event through `labkit hook`."""
    folder = tmp_path / "project"
    (folder / ".claude").mkdir(parents=True)
    (folder / "notes.txt").write_text(NOTES)
    hook = {"type": "command", "command": f"{sys.executable} -m labkit.hooks --log {tmp_path / 'hooks.jsonl'}"}
    settings = {"hooks": {event: [{"matcher": "*", "hooks": [hook]}] for event in ("PreToolUse", "PostToolUse")}}
    (folder / ".claude" / "settings.json").write_text(json.dumps(settings))
    return folder


def claude(server: SimHTTPServer, project: Path, prompt: str, *options: str) -> tuple[dict[str, Any], list[dict]]:
    """The CLI in print mode, configured only by ANTHROPIC_BASE_URL and a dummy key (and a private
    HOME, so no learner's settings or login are read): its result, and every tool call it made."""
    cli = _need(".bin/claude", "The Claude Code CLI")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project.parent / "home"), "ANTHROPIC_BASE_URL": server.url,
           "ANTHROPIC_API_KEY": "sk-labkit-dummy-key", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    done = subprocess.run([str(cli), "-p", prompt, "--output-format", "stream-json", "--verbose", *options],
                          cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}{done.stdout[-2000:]}"
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    calls = [block for event in events if event.get("type") == "assistant"
             for block in event["message"]["content"] if block.get("type") == "tool_use"]
    (result,) = [event for event in events if event.get("type") == "result"]
    return result, calls


def hook_events(project: Path) -> list[tuple[str, str]]:
    log = project.parent / "hooks.jsonl"
    return [(e["event"], e["tool"]) for e in map(json.loads, log.read_text().splitlines())] if log.exists() else []


def test_the_cli_answers_a_question_in_text_with_its_default_model_and_tools(served: SimHTTPServer,
                                                                               project: Path) -> None:
    result, calls = claude(served, project, "What is decoherence?")
    assert result["subtype"] == "success" and not result["is_error"], result
    assert "decoherence" in result["result"].lower()
    assert calls == [], "a plain question is answered in text, whatever tools the CLI offers"
    (model,) = result["modelUsage"]  # the CLI's own default, which the catalogue knows
    assert model.startswith("claude-")
    assert hook_events(project) == []


def test_the_cli_reads_a_file_and_runs_one_command_with_the_projects_hooks_firing(served: SimHTTPServer,
                                                                                 project: Path) -> None:
    result, calls = claude(served, project, "Read notes.txt, then run `echo labkit-was-here`",
                           "--allowedTools", "Read", "Bash(echo:*)")
    assert [(c["name"], c["input"]) for c in calls] == [
        ("Read", {"file_path": str(project / "notes.txt")}),  # absolute, as the tool's schema asks
        ("Bash", {"command": "echo labkit-was-here"}),       # the user's back-quoted span, nothing made up
    ]
    assert hook_events(project) == [("PreToolUse", "Read"), ("PostToolUse", "Read"),
                                    ("PreToolUse", "Bash"), ("PostToolUse", "Bash")]
    assert result["subtype"] == "success" and result["stop_reason"] == "end_turn"
    assert "hello from the notes" in result["result"] and "labkit-was-here" in result["result"]


def test_no_tool_input_comes_from_the_clis_reminders_or_from_prose(served: SimHTTPServer, project: Path) -> None:
    result, calls = claude(served, project, "Please run the tests and tell me if anything fails.",
                           "--allowedTools", "Bash")
    assert [c for c in calls if c["name"] == "Bash"] == [], "a shell command is never made up from prose"
    assert not any("system-reminder" in json.dumps(c["input"]) for c in calls)
    assert result["subtype"] == "success"


SCRIPT = """\
fallback: policy
turns:
  - when: {contains: "count the lines"}
    reply: {tool: Bash, input: {command: "wc -l notes.txt"}, text: "Counting them."}
  - when: {after_tool: Bash}
    reply: {text: "notes.txt has 2 lines, as scripted."}
"""


def test_a_scripted_session_runs_exactly_as_scripted(project: Path) -> None:
    script = Script.parse(SCRIPT, "session.yaml")
    for server in _serve(script):
        result, calls = claude(server, project, "Please count the lines of my notes.",
                               "--allowedTools", "Bash(wc:*)")
        assert server.api.script is not None and server.api.script.unused() == []
    assert [(c["name"], c["input"]) for c in calls] == [("Bash", {"command": "wc -l notes.txt"})]
    assert hook_events(project) == [("PreToolUse", "Bash"), ("PostToolUse", "Bash")]
    assert result["result"] == "notes.txt has 2 lines, as scripted."
