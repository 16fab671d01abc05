"""Hidden checks and trusted contexts for lab 06 (Token efficiency) — instructor only.

Follows instructor/hidden/lab00.py: recompute, do not believe. Question 1's call is the released
lab's request (its `AUDIT_QUESTION` with labkit's standing instructions as the cached system prompt),
sent twice to the grader's own simulator; question 2 needs only the library's episode list; question
3's measurements are re-made by the grader: the briefs of the student's recipe (their answer) and of
the baseline recipe, for every held-out task, on the grader's simulator with the grading seed.
"""

from labkit.grading.hidden import Given, context, hidden


def _client(given: Given):
    from labkit.grading import reference

    return reference.client(reference.simulator(given.seed, given.data_dir))


@context("06.q1")
def audited_call(given: Given) -> dict:
    from labkit import efficiency

    request = {"model": given.parameters["MODEL"], "max_tokens": 8000, "thinking": {"type": "adaptive"},
               "system": [{"type": "text", "text": efficiency.INSTRUCTIONS * 20, "cache_control": {"type": "ephemeral"}}],
               "messages": [{"role": "user", "content": given.constants["AUDIT_QUESTION"]}]}
    client = _client(given)
    client.messages.create(**request)
    return {"request": request, "usage": client.messages.create(**request).usage.model_dump(mode="json")}


@context("06.q2")
def episode_list(given: Given) -> dict:
    from labkit import efficiency

    return {"records": [dict(r) for r in efficiency.EPISODES], "model": given.parameters["MODEL"]}


@context("06.q3")
def held_out_measurements(given: Given) -> dict:
    from labkit import cost, efficiency, quality
    from labkit.errors import UsageError
    from labkit.sim.content import load_corpus

    answer = given.answer if isinstance(given.answer, dict) else {}
    try:
        recipe = efficiency.Recipe(**dict(answer.get("recipe") or {}))
    except (TypeError, UsageError):
        return {"rows": []}  # the visible check explains what a recipe is
    model, seed = given.parameters["MODEL"], given.seed
    corpus = load_corpus(given.data_dir / "corpus" / "topics.yaml")
    client = _client(given)
    rows = []
    for task in quality.load_tasks(given.data_dir, split="held_out"):
        measured = {}
        for name, chosen in (("baseline", efficiency.BASELINE), ("yours", recipe)):
            brief = efficiency.research_brief(task, chosen, corpus, seed=seed, model=model)
            reply = client.messages.create(model=model, max_tokens=int(given.parameters["MAX_TOKENS"]),
                                           messages=[{"role": "user", "content": brief}])
            measured[name] = (cost.price(reply.usage, model).total, quality.score(quality.answer_text(reply), task.prompt))
        rows.append({"task": task.id, "class": task.kind, "baseline_dollars": measured["baseline"][0],
                     "baseline_quality": measured["baseline"][1], "dollars": measured["yours"][0],
                     "quality": measured["yours"][1]})
    return {"rows": rows}


@hidden("06.q3", points=1, visibility="after_deadline",
        message="the recipe compresses the notes: unrelated notes cost tokens and pull answers off topic")
def compresses_the_notes(answer, given: Given):
    return isinstance(answer, dict) and isinstance(answer.get("recipe"), dict) and answer["recipe"].get("compress") is True
