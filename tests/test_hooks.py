"""labkit.hooks: the Claude Code hook, in process and as a real process reading stdin."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import labkit
from labkit import hooks, tokens
from labkit.hooks import EXIT_BLOCK, EXIT_ERROR, EXIT_OK, HookError, TranscriptError

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "data" / "hook_events"


@pytest.fixture(autouse=True)
def offline_config():
    labkit.configure(backend="sim", seed=0, time_scale=0)
    yield
    labkit.configure()


def event(name: str) -> str:
    return (EVENTS / name).read_text()


def run(name: str, log: Path, **options) -> hooks.Outcome:
    return hooks.handle(event(name), log=log, cwd=EVENTS, **options)


def test_usage_of_the_latest_request_is_the_context_size(tmp_path):
    log = tmp_path / "log.jsonl"
    outcome = run("pre_tool_use.json", log)
    assert outcome.code == EXIT_OK and outcome.stdout == "" and outcome.stderr == ""
    (record,) = hooks.read_log(log)
    assert record["tokens"] == 4 + 1830 + 122410  # input + cache writes + cache reads
    assert record["source"] == "transcript-usage"
    assert record["window"] == 200_000  # the transcript's model, claude-haiku-4-5
    assert record["share"] == pytest.approx(124244 / 200_000, abs=1e-4)
    assert (record["event"], record["tool"], record["action"]) == ("PreToolUse", "Read", "recorded")


def test_over_the_threshold_the_user_is_warned_but_nothing_is_blocked(tmp_path):
    outcome = run("post_tool_use.json", tmp_path / "log.jsonl")
    assert outcome.code == EXIT_OK
    assert "79% of the 200,000-token window" in json.loads(outcome.stdout)["systemMessage"]
    assert outcome.record["action"] == "warned"


def test_block_refuses_a_new_prompt_with_exit_2_and_the_reason_on_stderr(tmp_path):
    outcome = run("user_prompt_submit.json", tmp_path / "log.jsonl", block=True)
    assert outcome.code == EXIT_BLOCK and "run /compact" in outcome.stderr
    assert outcome.record["action"] == "blocked"
    assert run("post_tool_use.json", tmp_path / "log.jsonl", block=True).code == EXIT_OK  # tools go on


def test_pre_compact_is_recorded_without_advice(tmp_path):
    outcome = run("pre_compact.json", tmp_path / "log.jsonl", block=True)
    assert outcome.code == EXIT_OK and not outcome.stdout
    assert (outcome.record["trigger"], outcome.record["action"]) == ("auto", "recorded")


def test_threshold_and_window_options_apply(tmp_path):
    assert run("pre_tool_use.json", tmp_path / "a.jsonl", threshold=0.5).record["action"] == "warned"
    assert run("pre_tool_use.json", tmp_path / "b.jsonl", window=1_000_000).record["share"] < 0.2


def test_the_window_follows_the_transcript_model_even_under_a_dated_id():
    assert hooks.window_for(hooks.Reading(1, "transcript-usage", "claude-haiku-4-5-20251001")) == 200_000
    assert hooks.window_for(hooks.Reading(1, "transcript-usage", "claude-haiku-4-5")) == 200_000
    configured = labkit.models.profile().context_window
    assert hooks.window_for(hooks.Reading(1, "transcript-usage", "some-other-model")) == configured
    assert hooks.window_for(hooks.Reading(1, "transcript-usage", "claude-haiku-4-5"), window=1000) == 1000


def test_without_a_transcript_the_event_text_is_estimated(tmp_path):
    outcome = run("no_transcript.json", tmp_path / "log.jsonl")
    assert outcome.code == EXIT_OK
    assert outcome.record["source"] == "event-estimate"
    assert outcome.record["share"] is None and outcome.record["window"] is None
    assert outcome.record["tokens"] > 0


@pytest.mark.parametrize("raw, message", [
    ("", "no event on stdin"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "got a JSON list"),
    ('{"hook_event_name": "PreToolUse"}', "missing session_id"),
])
def test_malformed_events_exit_1_and_leave_the_log_untouched(tmp_path, raw, message):
    log = tmp_path / "log.jsonl"
    hooks.append(log, {"earlier": "line"})
    before = log.read_bytes()
    outcome = hooks.handle(raw, log=log)
    assert outcome.code == EXIT_ERROR and message in outcome.stderr and "nothing was logged" in outcome.stderr
    assert log.read_bytes() == before


def test_an_unreadable_transcript_exits_1_and_logs_the_estimate_with_the_reason(tmp_path):
    outcome = run("missing_transcript.json", tmp_path / "log.jsonl")
    assert outcome.code == EXIT_ERROR
    assert "transcripts/deleted-session.jsonl does not exist" in outcome.stderr
    (record,) = hooks.read_log(tmp_path / "log.jsonl")
    assert record["source"] == "event-estimate" and "does not exist" in record["error"]


def test_a_transcript_that_is_a_directory_or_not_text_is_unreadable(tmp_path):
    with pytest.raises(TranscriptError, match="cannot read transcript"):
        hooks.read_transcript(tmp_path)
    binary = tmp_path / "t.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TranscriptError, match="cannot read transcript"):
        hooks.read_transcript(binary)


def test_a_half_written_last_line_is_skipped():
    reading = hooks.read_transcript(EVENTS / "transcripts" / "ep3-late.jsonl")
    assert (reading.tokens, reading.model) == (6 + 2214 + 155301, "claude-haiku-4-5")


def test_a_transcript_without_usage_is_estimated(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"type": "user", "message": {"role": "user", "content": "Research chaos theory."}}))
    reading = hooks.read_transcript(path)
    assert reading == hooks.Reading(tokens.estimate("Research chaos theory."), "transcript-estimate")


def test_an_unwritable_log_is_a_non_blocking_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    outcome = run("pre_tool_use.json", blocker / "log.jsonl")
    assert outcome.code == EXIT_ERROR and "cannot write the log" in outcome.stderr


def test_a_log_with_a_foreign_line_is_reported(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("not json\n")
    with pytest.raises(HookError, match="malformed line"):
        hooks.read_log(log)
    assert hooks.read_log(tmp_path / "missing.jsonl") == []


def test_main_follows_the_cli_contract(tmp_path, monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    hooks.add_arguments(parser)
    args = parser.parse_args(["--log", str(tmp_path / "log.jsonl"), "--block"])
    monkeypatch.chdir(EVENTS)
    monkeypatch.setattr(sys, "stdin", open(EVENTS / "user_prompt_submit.json"))
    assert hooks.main(args) == EXIT_BLOCK
    assert "run /compact" in capsys.readouterr().err


def test_default_log_is_under_the_course_folder():
    assert hooks.default_log() == labkit.config.current().root / ".labkit" / "context_log.jsonl"


def test_python_m_labkit_hooks_reads_stdin_and_exits_with_the_hook_codes(tmp_path):
    log = tmp_path / "log.jsonl"

    def call(name: str, *options: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "labkit.hooks", "--log", str(log), *options],
                              input=event(name), capture_output=True, text=True, cwd=EVENTS, timeout=60)

    blocked = call("user_prompt_submit.json", "--block")
    assert blocked.returncode == EXIT_BLOCK and "run /compact" in blocked.stderr
    malformed = call("malformed.json")
    assert malformed.returncode == EXIT_ERROR and "not valid JSON" in malformed.stderr
    assert [r["event"] for r in hooks.read_log(log)] == ["UserPromptSubmit"]


def test_a_bad_option_exits_1_not_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        hooks.cli(["--threshold", "75"])
    assert stopped.value.code == EXIT_ERROR  # 2 would tell Claude Code to block
    assert "share of the window" in capsys.readouterr().err


def test_lab_check_for_the_hook_reading():
    from labkit.checks import evaluate

    path = str(EVENTS / "post_tool_use.json")
    share = (6 + 2214 + 155301) / 200_000
    assert evaluate("02.q1", {"exit_code": 0, "share": round(share, 4)}, event=path).passed
    assert "fraction" in evaluate("02.q1", {"exit_code": 0, "share": share * 100}, event=path).message
    assert "block" in evaluate("02.q1", {"exit_code": 2, "share": share}, event=path).message
