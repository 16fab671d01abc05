import socket

import pytest

from labkit import tokens


def test_estimate_uses_a_real_bpe_and_the_model_ratio():
    text = "The observer effect is not the uncertainty principle."
    legacy = tokens.estimate(text, "claude-haiku-4-5")
    newer = tokens.estimate(text, "claude-haiku-5-5")
    assert 8 <= legacy <= 14
    assert newer == round(tokens.bpe_count(text) * 1.3)
    assert tokens.estimate("", "claude-haiku-5-5") == 0


def test_tokenizer_loads_without_network(monkeypatch):
    tokens._encoding.cache_clear()

    def refuse(*args, **kwargs):
        raise AssertionError("the tokenizer tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert tokens.estimate("offline works", "claude-haiku-4-5") > 0


def test_request_estimate_counts_every_part():
    base = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hello there"}]}
    with_system = {**base, "system": [{"type": "text", "text": "You are a careful researcher."}]}
    with_tools = {**with_system, "tools": [{"name": "search", "input_schema": {"type": "object"}}]}
    counts = [tokens.estimate_request(p) for p in (base, with_system, with_tools)]
    assert counts[0] < counts[1] < counts[2]


def test_block_text_handles_every_block_kind():
    assert tokens.block_text({"type": "tool_use", "name": "search", "input": {"q": "x"}}).startswith("search")
    assert tokens.block_text({"type": "tool_result", "content": [{"type": "text", "text": "ok"}]}) == "ok"
    assert tokens.block_text({"type": "thinking", "thinking": "hmm"}) == "hmm"


def test_offline_count_is_labelled_an_estimate():
    count = tokens.count({"model": "claude-haiku-5-5", "messages": [{"role": "user", "content": "hi"}]})
    assert not count.exact and "estimate" in str(count)


@pytest.mark.parametrize("model", ["claude-nope"])
def test_unknown_model_is_a_clear_error(model):
    with pytest.raises(ValueError, match="unknown model 'claude-nope'"):
        tokens.estimate("x", model)


def test_live_counts_are_exact_from_the_count_tokens_endpoint(monkeypatch):
    """Live mode asks the API; here the 'API' is the simulator's count_tokens endpoint."""
    from labkit import backend, config

    request = {"model": "claude-haiku-5-5", "max_tokens": 10,
               "messages": [{"role": "user", "content": "Count me exactly."}]}
    config.configure(time_scale=0)
    sim_client = backend.client()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-real")
    config.configure(backend="live")
    try:
        count = tokens.count(request, client=sim_client)
    finally:
        config.configure()
    assert count.exact and "exact" in str(count)
    assert count.value == tokens.estimate_request(request)
