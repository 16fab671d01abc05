"""`labkit.quality.score` and the content model it measures: on-topic share x coverage of the concepts
a prompt names, with answers that depend on which concepts are named, not on wording."""

import statistics

import pytest

import labkit
from labkit import backend, quality
from labkit.sim import content

MODEL = "claude-haiku-5-5"


pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture
def corpus():
    return backend.simulator().corpus


def concept(corpus, keyword):
    return corpus.match(keyword)[0]


def answer_text(prompt: str, **options) -> str:
    message = labkit.client(max_retries=0).messages.create(
        model=MODEL, max_tokens=4000, messages=[{"role": "user", "content": prompt}], **options)
    return "".join(b.text for b in message.content if b.type == "text")


def test_all_on_topic_and_covering_everything_scores_one(corpus):
    facts = [*concept(corpus, "decoherence").facts[:2], concept(corpus, "bayes").facts[0]]
    assert quality.score(" ".join(facts), "Notes on decoherence and Bayes.", corpus) == 1.0


def test_filler_lowers_precision_and_missing_concepts_lower_coverage(corpus):
    fact = concept(corpus, "decoherence").facts[0]
    assert quality.score(f"{fact} {corpus.generic[0]}", "Notes on decoherence.", corpus) == 0.5
    assert quality.score(fact, "Notes on decoherence and Bayes.", corpus) == 0.5


def test_sentences_in_other_words_count_by_keyword(corpus):
    live = "Decoherence explains why cats are not seen in superposition. Lunch was good."
    assert quality.score(live, "Explain decoherence.", corpus) == 0.5


def test_labels_and_review_boilerplate_are_not_judged(corpus):
    fact = concept(corpus, "chaos theory").facts[0]
    text = f"HOST: {fact}\nGUEST: {corpus.review[0]}\n1. {fact}"
    assert quality.score(text, "Review our chaos theory draft.", corpus) == 1.0


def test_a_prompt_naming_no_concept_wants_no_concept(corpus):
    generic = " ".join(corpus.generic[:3])
    assert quality.score(generic, "How should we pace an episode?", corpus) == 1.0
    off = f"{generic} {concept(corpus, 'entanglement').facts[0]}"
    assert quality.score(off, "How should we pace an episode?", corpus) == 0.75


def test_nothing_to_judge_scores_zero(corpus):
    assert quality.score("", "Explain decoherence.", corpus) == 0.0


def test_the_default_corpus_is_the_configured_one(corpus):
    fact = concept(corpus, "gödel").facts[0]
    assert quality.score(fact, "Explain Gödel.") == quality.score(fact, "Explain Gödel.", corpus) == 1.0


def test_a_named_concept_gets_material_and_a_missing_one_gets_none(corpus):
    text = answer_text("Write research notes on the halting problem.")
    about = set().union(*(corpus.concepts_of(s) for s in content.split_sentences(text)))
    assert "halting-problem" in about and "entanglement" not in about


def test_every_corpus_sentence_splits_as_one_sentence(corpus):
    every = [s for c in corpus.concepts for s in c.sentences] + list(corpus.generic) + list(corpus.review)
    assert all(content.split_sentences(s) == [s] for s in every)


@pytest.mark.parametrize("verbose, terse", [
    ("Could you please write some detailed research notes for our listeners explaining the observer effect, "
     "and also how decoherence relates to it? Thank you so much!", "Research notes: observer effect; decoherence."),
    ("I would like a summary, please, of what is known about chaos theory and Laplace's demon.",
     '{"task": "summary", "topics": ["chaos theory", "laplace\'s demon"]}'),
])
def test_wording_does_not_change_the_answer_or_its_quality(verbose, terse):
    long_answer, short_answer = answer_text(verbose), answer_text(terse)
    assert long_answer == short_answer
    assert quality.score(long_answer, verbose) == quality.score(short_answer, terse)


TOPIC_SETS = ["decoherence, chaos theory and Bayes", "the halting problem and many-worlds",
              "consciousness, determinism and the observer effect", "entanglement and Gödel",
              "Schrödinger's cat, the uncertainty principle and overconfidence", "integrated information and qualia"]
VERBS = ["Write research notes on", "Summarize", "Explain", "Write a podcast script on"]


def mean_score(prompts, **options) -> float:
    return statistics.mean(quality.score(answer_text(p, **options), p) for p in prompts)


def test_the_documented_scale():
    several = [f"{verb} {topics}." for verb in VERBS for topics in TOPIC_SETS]
    single = [f"{verb} {topic}." for verb in VERBS for topic in ("decoherence", "Bayes", "Gödel", "chaos theory")]
    without = mean_score(several)
    assert 0.72 <= without <= 0.84
    assert mean_score(single) >= 0.9
    assert mean_score(several, thinking={"type": "adaptive"}, output_config={"effort": "high"}) >= 0.95


# ----------------------------------------------------------------------------- the task set


def test_the_task_set_has_four_classes_of_twelve_with_a_third_held_out() -> None:
    tasks = quality.load_tasks()
    assert len(tasks) == 48 and len({t.id for t in tasks}) == 48
    for kind in quality.CLASSES:
        of_kind = [t for t in tasks if t.kind == kind]
        assert len(of_kind) == 12 and sum(t.split == "held_out" for t in of_kind) == 4
    assert {len(t.requires) for t in tasks if t.kind == "lookup"} == {1}
    assert min(len(t.requires) for t in tasks if t.kind == "multi-step") >= 3
    assert quality.load_tasks(split="held_out") == [t for t in tasks if t.split == "held_out"]


def test_the_task_file_is_what_its_seeded_generator_writes() -> None:
    import subprocess
    import sys

    root = labkit.config.find_root()
    done = subprocess.run([sys.executable, str(root / "data" / "quality_tasks.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_prompt_names_exactly_the_concepts_its_ground_truth_requires(corpus) -> None:
    for task in quality.load_tasks():
        assert {c.id for c in corpus.match(task.prompt)} == set(task.requires), task.id


def ask(task: quality.Task, **options):
    return labkit.client(max_retries=0).messages.create(
        model=MODEL, messages=[{"role": "user", "content": task.prompt}], **options)


def test_an_answer_whose_thinking_used_up_max_tokens_scores_zero() -> None:
    task = next(t for t in quality.load_tasks() if t.kind == "multi-step")
    cut = ask(task, max_tokens=300, thinking={"type": "adaptive"}, output_config={"effort": "max"})
    assert cut.stop_reason == "max_tokens" and quality.answer_text(cut) == ""
    assert quality.score_task(task, quality.answer_text(cut)) == 0.0


def test_a_paired_comparison_shows_thinking_helps_multi_concept_work_and_costs_nothing_on_lookups() -> None:
    tasks = [t for t in quality.load_tasks(split="tune") if t.kind in ("lookup", "multi-concept", "multi-step")]
    plain = [quality.score_task(t, quality.answer_text(ask(t, max_tokens=4000))) for t in tasks]
    thought = [quality.score_task(t, quality.answer_text(ask(t, max_tokens=8000, thinking={"type": "adaptive"},
                                                             output_config={"effort": "high"})))
               for t in tasks]
    comparison = quality.compare(tasks, plain, thought)
    assert comparison.by_class["multi-step"].low > 0, comparison.by_class["multi-step"]
    assert comparison.kept(0.02) and comparison.overall.excludes(0.0)
    # The naive "save tokens" strategy: deep thinking with too little room, which exhausts some answers.
    starved = [quality.score_task(t, quality.answer_text(ask(t, max_tokens=1200, thinking={"type": "adaptive"},
                                                             output_config={"effort": "high"}))) for t in tasks]
    naive = quality.compare(tasks, plain, starved)
    assert not naive.kept(0.02) and naive.worst()[1].low < -0.02


def test_a_comparison_needs_one_score_per_task() -> None:
    tasks = quality.load_tasks()[:3]
    with pytest.raises(labkit.errors.UsageError, match="one score per task"):
        quality.compare(tasks, [1.0, 1.0, 1.0], [1.0, 1.0])
