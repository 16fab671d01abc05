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
