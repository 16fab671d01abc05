"""Answer quality on a 0-1 scale, scored from the answer text and the prompt alone.

This is a *model* of quality built on the course's topic corpus, not a measurement of Claude's: it asks
whether an answer stays on the concepts the prompt names and covers all of them.

    N          = the corpus concepts the prompt names (by keyword, as the simulator reads prompts)
    sentences  = the answer's sentences (speaker labels, list numbers and bullets removed); review
                 boilerplate ("consider starting with the puzzle itself") is neither on nor off topic
                 and is not counted
    on topic   = a sentence about at least one concept of N (corpus sentences by table, any other text
                 by keyword); when N is empty, a sentence about no corpus concept
    precision  = on-topic sentences / counted sentences
    coverage   = share of N that some on-topic sentence is about (1 when N is empty)
    score      = precision x coverage (0 for an answer with no countable sentence)

Under the simulator (docs/simulator.md, "Quality", has the measured table), answers drift into
generic filler at a rate that grows with the number of concepts to juggle and falls with thinking: a
one-concept answer scores about 0.98 without thinking, answers naming two to four concepts 0.75-0.81;
adaptive thinking lifts the latter to 0.83-0.92 at low effort, 0.94-0.98 at medium and 0.98 or more
at high effort. Wording does not matter, only which concepts are named: a terse prompt that names the
same concepts scores the same. Pass the whole prompt (system and user text) as `prompt_text`, since
that is what the simulator reads. Live answers can be scored too; then the figure says how closely an
answer sticks to the named concepts, in this corpus's vocabulary.
"""

from __future__ import annotations

from . import config
from .sim.content import Corpus, load_corpus, split_sentences


def score(answer_text: str, prompt_text: str, corpus: Corpus | None = None) -> float:
    """The quality of `answer_text` as an answer to `prompt_text` (see the module docstring)."""
    corpus = corpus or load_corpus(config.current().data_dir / "corpus" / "topics.yaml")
    named = {c.id for c in corpus.match(prompt_text)}
    boilerplate = set(corpus.review)
    counted = on_topic = 0
    covered: set[str] = set()
    for sentence in split_sentences(answer_text):
        if sentence in boilerplate:
            continue
        about = corpus.concepts_of(sentence)
        counted += 1
        if (about & named) if named else not about:
            on_topic += 1
            covered |= about & named
    if not counted:
        return 0.0
    coverage = len(covered) / len(named) if named else 1.0
    return on_topic / counted * coverage
