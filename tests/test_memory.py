"""labkit.memory: the context tracker, hierarchical memory, compaction, efficiency and the workload."""

from __future__ import annotations

import pytest

import labkit
from labkit import backend, memory, tokens
from labkit.memory import (ALWAYS, BACKGROUND, TASK, ContextError, ContextTracker, Measure, MemoryItem,
                           MemoryStore, Policy, Session, Turn, Workload)
from labkit.memory.efficiency import measure, sentences, total
from labkit.sim.content import answer_kind, load_corpus


@pytest.fixture(autouse=True)
def offline_config():
    labkit.configure(backend="sim", seed=0, time_scale=0)
    backend.reset_simulator()
    yield
    labkit.configure()


# --- the tracker -----------------------------------------------------------------------------------


def test_window_comes_from_the_model_profile_unless_a_budget_is_given():
    assert ContextTracker.for_model("claude-haiku-4-5").window == 200_000
    assert ContextTracker.for_model("claude-haiku-4-5", window=4000).window == 4000


def test_a_budget_larger_than_the_model_window_is_refused():
    with pytest.raises(ContextError, match="larger than the model's 200,000-token window"):
        ContextTracker.for_model("claude-haiku-4-5", window=300_000)


@pytest.mark.parametrize("window", [0, -5, 2.5, True, "4000"])
def test_the_window_must_be_a_positive_whole_number(window):
    with pytest.raises(ContextError, match="positive whole number"):
        ContextTracker(window=window)


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5, 75, "0.75", None])
def test_the_threshold_is_a_share_of_the_window(threshold):
    with pytest.raises(ContextError, match=r"share of the window in \(0, 1\]"):
        ContextTracker(window=1000, threshold=threshold)


def test_compaction_fires_at_the_threshold_share():
    tracker = ContextTracker(window=1000)
    assert tracker.trigger_tokens == 750
    assert not tracker.should_compact(749)
    assert tracker.should_compact(750)
    assert tracker.share(1500) == 1.5  # overflow is reported, not hidden


def test_observe_counts_cache_reads_and_writes_as_context():
    tracker = ContextTracker(window=1000)
    usage = {"input_tokens": 10, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 300,
             "output_tokens": 999}
    assert tracker.observe(usage) == 510
    assert tracker.history == [510]


def test_a_message_larger_than_the_window_is_a_clear_error():
    tracker = ContextTracker(window=50)
    params = {"model": "claude-haiku-5-5", "max_tokens": 10,
              "messages": [{"role": "user", "content": "tell me about the observer effect " * 20}]}
    with pytest.raises(ContextError, match="message 1 alone is about .* more than the whole 50-token window"):
        tracker.check_request(params)


def test_check_request_estimates_the_request_size():
    params = {"model": "claude-haiku-5-5", "max_tokens": 10, "system": "Be brief.",
              "messages": [{"role": "user", "content": "Research chaos theory."}]}
    assert ContextTracker(window=1000).check_request(params) == tokens.estimate_request(params)


# --- hierarchical memory ---------------------------------------------------------------------------


def store() -> MemoryStore:
    return MemoryStore([
        MemoryItem("brief", ALWAYS, "The show brief."),
        MemoryItem("notes:ep1", TASK, "Notes for episode one.", task="ep1"),
        MemoryItem("notes:ep2", TASK, "Notes for episode two.", task="ep2"),
        MemoryItem("feedback", BACKGROUND, "What listeners said.", triggers=("listener",)),
    ])


def test_hierarchical_loading_takes_always_task_and_asked_for_background():
    assert [i.key for i in store().load("ep1", "Write the script.")] == ["brief", "notes:ep1"]
    assert [i.key for i in store().load("ep2", "Review it for our Listeners.")] == ["brief", "notes:ep2", "feedback"]
    assert len(store().everything()) == 4


@pytest.mark.parametrize("item, message", [
    (dict(key="x", tier="sometimes", text="t"), "unknown tier 'sometimes'"),
    (dict(key="x", tier=ALWAYS, text="  "), "is empty"),
    (dict(key="x", tier=TASK, text="t"), "needs the task it belongs to"),
    (dict(key="x", tier=BACKGROUND, text="t"), "needs trigger words"),
])
def test_malformed_memory_items_are_refused(item, message):
    with pytest.raises(ContextError, match=message):
        MemoryItem(**item)


def test_memory_keys_are_unique():
    with pytest.raises(ContextError, match="brief appear more than once"):
        MemoryStore([MemoryItem("brief", ALWAYS, "a"), MemoryItem("brief", ALWAYS, "b")])


# --- efficiency ------------------------------------------------------------------------------------


def test_efficiency_counts_needed_sentences_once_and_reports_kept_inputs():
    a, b, c = "Chaos theory is about sensitivity.", "The cache missed twice.", "Laplace imagined a demon."
    tally = measure(context=[f"{a} {b}", a], needed=[a], inputs=[f"{a} {c}"])
    size = {s: tokens.estimate(s) for s in (a, b, c)}
    assert tally == Measure(context=2 * size[a] + size[b], needed=size[a], inputs=size[a] + size[c], kept=size[a])
    assert tally.efficiency == pytest.approx(size[a] / (2 * size[a] + size[b]))
    assert tally.kept_share == pytest.approx(size[a] / (size[a] + size[c]))


def test_sentences_drop_script_labels_and_bullets():
    assert sentences("HOST: Hello there. Welcome.\n- A note.") == ["Hello there.", "Welcome.", "A note."]


def test_no_requests_or_no_context_cannot_be_measured():
    with pytest.raises(ContextError, match="no requests to measure"):
        total([])
    with pytest.raises(ContextError, match="no context tokens"):
        _ = Measure().efficiency
    assert Measure(context=5, needed=5).kept_share == 1.0  # a step with no inputs lost nothing


# --- the workload ----------------------------------------------------------------------------------


def test_empty_sessions_are_refused():
    with pytest.raises(ContextError, match="has no turns"):
        Session("s", "ep1", "chaos theory", ())
    with pytest.raises(ContextError, match="no sessions"):
        Workload(store(), ())


def test_a_step_that_reads_an_unknown_key_is_refused():
    session = Session("s", "ep1", "chaos theory", (Turn("outline", "Outline it.", reads=("research",)),))
    with pytest.raises(ContextError, match="reads research"):
        Workload(store(), (session,))


def test_podcast_workload_is_three_sessions_on_their_own_topics():
    workload = memory.podcast()
    corpus = load_corpus(labkit.config.current().data_dir / "corpus" / "topics.yaml")
    assert [len(s.turns) for s in workload.sessions] == [7, 7, 7]
    assert corpus.match(workload.memory.tier(ALWAYS)[0].text) == []
    for session in workload.sessions:
        topic = {c.id for c in corpus.match(session.topic)}
        notes = workload.memory.load(session.task, "")[1]
        assert {c.id for c in corpus.match(notes.text)} == topic
        kinds = [answer_kind(t.instruction) for t in session.turns]
        assert kinds == ["research", "research", "outline", "script", "review", "script", "brief"]


# --- compaction and runs ---------------------------------------------------------------------------


def small_workload() -> Workload:
    turns = (Turn("research", "Research chaos theory for the show.", reads=("notes:ep1",)),
             Turn("outline", "Outline the episode on chaos theory.", reads=("research",)),
             Turn("pitch", "In one sentence, pitch the episode on chaos theory.", reads=("outline",)))
    return Workload(store(), (Session("s1", "ep1", "chaos theory", turns),))


def test_compaction_is_a_summarising_call():
    client = labkit.client()
    messages = [{"role": "user", "content": "Research chaos theory."},
                {"role": "assistant", "content": "Chaos theory studies sensitive dependence."}]
    call = memory.compact(client, model="claude-haiku-5-5", system="", messages=messages)
    assert call.summary and call.tokens_before > 0 and call.usage["output_tokens"] > 0
    assert call.cost.total > 0


def test_a_run_without_automation_never_compacts_and_keeps_every_input():
    result = memory.run(small_workload(), memory.NO_AUTOMATION, client=labkit.client(), window=5000)
    assert not result.compactions and result.kept() == 1.0
    assert [s.number for s in result.steps] == [1, 2, 3]
    assert 0 < result.efficiency() <= 1


def test_compaction_at_a_low_threshold_shrinks_the_context_and_is_measured():
    policy = Policy("eager", hierarchical=True, compact_at=0.1)
    result = memory.run(small_workload(), policy, client=labkit.client(), window=2000)
    assert result.compactions, "a 10% threshold on a 2,000-token budget must compact"
    for record in result.compactions:
        step = result.steps[record.number - 1]
        assert step.compacted and step.tokens < step.projected
        assert 0 <= record.kept <= 1
    assert result.cost.total > sum(labkit.cost.price(s.usage).total for s in result.steps)


def test_runs_are_deterministic():
    policy = Policy("eager", hierarchical=True, compact_at=0.1)
    first = memory.run(small_workload(), policy, client=labkit.client(), window=2000)
    backend.reset_simulator()
    second = memory.run(small_workload(), policy, client=labkit.client(), window=2000)
    assert [s.measure for s in first.steps] == [s.measure for s in second.steps]


@pytest.mark.parametrize("share", [75, 0, "0.75"])
def test_a_policy_threshold_must_be_a_share(share):
    with pytest.raises(ContextError, match="compact_at"):
        Policy("bad", hierarchical=True, compact_at=share)


# --- lab 02's checks on the trigger --------------------------------------------------------------


def test_lab_check_for_the_trigger_steps_gives_hints_not_answers():
    from labkit.checks import evaluate

    sizes, window = [100, 750, 749, 900], 1000
    assert evaluate("02.q2", [2, 4], sizes=sizes, window=window).passed
    assert "number the steps from 1" in evaluate("02.q2", [1, 3], sizes=sizes, window=window).message
    assert "*at* 75%" in evaluate("02.q2", [4], sizes=sizes, window=window).message
    assert not evaluate("02.q2", "2, 4", sizes=sizes, window=window).passed
