"""Scripted sessions: a YAML script's turns answer the requests they match, through the real SDK."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from labkit import backend, cli
from labkit.clock import SimClock
from labkit.sim import SimAPI
from labkit.sim.script import Script, ScriptError
from labkit.sim.server import running

DATA = Path(__file__).resolve().parents[1] / "data"
MODEL = "claude-haiku-5-5"
READ = {"name": "read_file", "description": "Read a file.", "input_schema": {
    "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}
EDIT = {"name": "edit_file", "description": "Replace text in a file.", "input_schema": {
    "type": "object", "properties": {"path": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"}},
    "required": ["path", "old", "new"]}}
SESSION = """\
fallback: error
turns:
  - when: {contains: "fix the typo"}
    reply:
      text: Let me look at the file first.
      tool: read_file
      input: {path: notes.txt}
  - when: {after_tool: read_file}
    reply:
      calls:
        - {tool: edit_file, input: {path: notes.txt, old: teh, new: the}}
  - when: {after_tool: edit_file}
    reply: {text: "Fixed: teh is now the."}
"""


def scripted(text: str, **options) -> anthropic.Anthropic:
    api = SimAPI(seed=0, data_dir=DATA, script=Script.parse(text, "session.yaml"), **options)
    return backend.client(api=api, max_retries=0)


def ask(client: anthropic.Anthropic, messages: list, **options) -> anthropic.types.Message:
    return client.messages.create(model=MODEL, max_tokens=500, tools=[READ, EDIT], messages=messages, **options)


def results(answer: anthropic.types.Message, output: str) -> list[dict]:
    return [{"role": "assistant", "content": answer.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": b.id, "content": output}
                                         for b in answer.content if b.type == "tool_use"]}]


def test_a_scripted_session_runs_exactly_as_scripted() -> None:
    client = scripted(SESSION)
    messages: list = [{"role": "user", "content": "Please fix the typo in notes.txt."}]
    first = ask(client, messages)
    assert first.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "text", None), getattr(b, "name", None), getattr(b, "input", None))
            for b in first.content] == [("text", "Let me look at the file first.", None, None),
                                        ("tool_use", None, "read_file", {"path": "notes.txt"})]
    messages += results(first, "teh notes")
    second = ask(client, messages)
    assert [(b.name, b.input) for b in second.content] == [("edit_file", {"path": "notes.txt", "old": "teh",
                                                                          "new": "the"})]
    messages += results(second, "ok")
    third = ask(client, messages)
    assert third.stop_reason == "end_turn" and [b.text for b in third.content] == ["Fixed: teh is now the."]
    assert third.usage.output_tokens > 0 and third.id.startswith("msg_")
    with pytest.raises(anthropic.BadRequestError, match="no turn of the session script session.yaml matches "
                                                        "request 4 .last user text: 'Thanks!'"):
        ask(client, [*messages, {"role": "assistant", "content": third.content},
                     {"role": "user", "content": "Thanks!"}])


def test_a_session_says_which_turns_are_still_unplayed() -> None:
    api = SimAPI(seed=0, data_dir=DATA, script=Script.parse(SESSION, "session.yaml"))
    assert api.script is not None and api.script.unused() == [1, 2, 3]
    client = backend.client(api=api, max_retries=0)
    ask(client, [{"role": "user", "content": "Please fix the typo in notes.txt."}])
    assert api.script.unused() == [2, 3]


def test_a_scripted_reply_streams_like_any_answer() -> None:
    request = {"model": MODEL, "max_tokens": 500, "tools": [READ, EDIT],
               "messages": [{"role": "user", "content": "Fix the typo, please."}]}
    with scripted(SESSION).messages.stream(**request) as stream:
        streamed = stream.get_final_message()
    plain = scripted(SESSION).messages.create(**request)
    assert streamed.model_dump() == plain.model_dump() and streamed.stop_reason == "tool_use"


def test_unmatched_requests_get_the_policy_and_turns_are_used_up() -> None:
    client = scripted("turns:\n  - when: {request: 2}\n    reply: {text: Second.}\n"
                      "  - when: {matches: '^ping$'}\n    times: 2\n    reply: {text: pong}\n")
    hello = [{"role": "user", "content": "Write research notes on decoherence."}]
    assert "decoherence" in ask(client, hello).content[-1].text.lower()  # request 1: the policy
    assert ask(client, hello).content[0].text == "Second."
    ping = [{"role": "user", "content": "ping"}]
    assert [ask(client, ping).content[0].text for _ in range(3)][:2] == ["pong", "pong"]
    assert ask(client, ping).content[0].text != "pong"  # times: 2 is used up


def test_side_requests_and_unoffered_tools_do_not_use_up_turns() -> None:
    client = scripted(SESSION.replace("fallback: error", "fallback: policy"))
    title = client.messages.create(
        model=MODEL, max_tokens=200, messages=[{"role": "user", "content": "<session>\nFix the typo\n</session>"}],
        output_config={"format": {"type": "json_schema", "schema": {
            "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}})
    assert title.content[0].text == '{"title": "Fix the typo"}'  # the policy's answer: format is not scripted
    untooled = client.messages.create(model=MODEL, max_tokens=200,
                                      messages=[{"role": "user", "content": "Fix the typo."}])
    assert [b.type for b in untooled.content] == ["text"]  # the turn calls read_file: not offered here
    first = ask(client, [{"role": "user", "content": "Fix the typo."}])
    assert [b.name for b in first.content if b.type == "tool_use"] == ["read_file"]


def test_a_scripted_server_answers_over_http() -> None:
    api = SimAPI(seed=0, data_dir=DATA, clock=SimClock(include_creator=False),
                      script=Script.parse(SESSION, "session.yaml"))
    with running(api) as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="sk-test", max_retries=0)
        first = ask(client, [{"role": "user", "content": "Fix the typo in notes.txt."}])
    assert first.content[1].input == {"path": "notes.txt"}


@pytest.mark.parametrize("text, line, message", [
    ("turns: [\n", 2, "not valid YAML"),
    ("turns: []\n", 1, "non-empty list of turns"),
    ("fallback: never\nturns:\n  - reply: {text: a}\n", 1, "fallback must be one of policy, error"),
    ("turns:\n  - reply: {text: a}\n  - when: {after_tol: read_file}\n    reply: {text: b}\n", 3,
     "turn 2: when: unknown key 'after_tol'"),
    ("turns:\n  - when: {contains: x}\n", 2, "turn 1 has no `reply:`"),
    ("turns:\n  - reply: {text: a}\n    times: 0\n", 3, "times must be at least 1"),
    ("turns:\n  - when:\n      matches: '('\n    reply: {text: a}\n", 3, "when.matches is not a regular expression"),
    ("turns:\n  - when: {request: first}\n    reply: {text: a}\n", 2, "when.request must be an integer"),
    ("turns:\n  - reply:\n      tool: read file\n", 3, "'read file' is not a tool name"),
    ("turns:\n  - reply:\n      tool: read_file\n      calls: []\n", 3, "`tool:` or `calls:`, not both"),
    ("turns:\n  - reply:\n      calls:\n        - {input: {}}\n", 4, "reply.calls.0 has no `tool:`"),
    ("turns:\n  - reply:\n      tool: read_file\n      input: [notes.txt]\n", 4, "input must be a mapping"),
])
def test_a_malformed_script_names_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError, match=rf"^session\.yaml:{line}: .*{message}"):
        Script.parse(text, "session.yaml")


def test_labkit_serve_reports_a_malformed_script_before_listening(tmp_path: Path, capsys) -> None:
    path = tmp_path / "session.yaml"
    path.write_text("turns:\n  - reply: {text: a}\n  - when: {after_tol: read_file}\n    reply: {text: b}\n")
    assert cli.main(["serve", "--script", str(path), "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"labkit: error: {path}:3: turn 2: when: unknown key 'after_tol' (expected one of contains, matches, "
        "request, after_tool, format)")
    assert cli.main(["serve", "--script", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the session script" in capsys.readouterr().err
