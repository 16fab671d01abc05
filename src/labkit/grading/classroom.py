"""Grade a class: many submissions on any `concurrent.futures.Executor`, resumable, never losing a result.

    from labkit.grading import classroom
    result = classroom.grade_class(["submissions/"], out="graded", workers=4)

    # A class that outgrows one machine: the same call on a Dask cluster
    from distributed import Client
    result = classroom.grade_class(["submissions/"], out="graded", executor=Client("tcp://scheduler:8786"))

Each submission becomes a self-contained, picklable `Job`: the notebook's bytes, the released lab's
questions and parameters, the instructor module's source and the settings. A worker needs only
labkit installed with the course files (data/, labs/) at the same path, and root for the full
sandbox; never the submissions folder, instructor/ or solutions/. Dask workers should run one task
at a time (`threads_per_worker=1`): a grading job holds a kernel and an evaluator process.

The client (this process) writes each result as soon as it arrives: `records/<student>/<lab>.json`,
`feedback/<student>/<lab>.md` and `.html`, `executed/<student>/<lab>.ipynb`; then `gradebook.csv`.
A job that fails, or whose worker dies, becomes an "error" record for that student only. Re-running
the same command resumes: a submission whose record exists, is "graded", has the same notebook sha256
and the same grader id (grader version, instructor module, settings) is not executed again (`force`
regrades everything). Feedback and the gradebook are always rebuilt from the records, so
`--after-deadline` needs no re-execution.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .. import config
from . import evaluate, execute, feedback, hidden, isolation, results, submission
from .execute import Settings
from .submission import ReleasedLab, Submission, SubmissionError

RECORDS, FEEDBACK, EXECUTED, GRADEBOOK = "records", "feedback", "executed", "gradebook.csv"


@dataclasses.dataclass(frozen=True)
class Job:
    """One submission to grade, self-contained so any executor (a Dask cluster too) can run it."""

    student: str
    name: str                       # "alice/00_start_here_lab", for progress and messages
    notebook: bytes
    sha256: str
    lab: ReleasedLab | None         # None: the grader could not tell which lab (see `problem`)
    instructor_source: str
    instructor_file: str
    settings: Settings
    course_root: Path
    problem: str = ""               # why this submission cannot be graded at all, found before running
    source: str = ""                # the submitted file, as the instructor named it
    notes: tuple[str, ...] = ()     # for the instructor: renamed, handed in twice, same file as ...


@dataclasses.dataclass(frozen=True)
class Graded:
    record: dict[str, Any]
    executed: str | None            # the executed notebook's JSON, for the instructor to inspect


@dataclasses.dataclass(frozen=True)
class ClassResult:
    records: list[dict[str, Any]]
    out: Path
    graded: int                     # executed in this run
    resumed: int                    # reused from an earlier run

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") != results.GRADED]


# --------------------------------------------------------------------------- one submission (worker side)


def grade_job(job: Job) -> Graded:
    """Worker entry point: execute, evaluate, build the record. Never raises for a student's doing."""
    import nbformat

    _quiet()
    started, clock = results.now(), time.monotonic()
    lab, settings = job.lab, job.settings
    protection = isolation.probe(job.course_root, settings.sandbox) if lab is not None else None
    reproduce = _reproduce(job, protection)

    def graded(questions: Sequence[evaluate.QuestionOutcome], status: str, error: str = "",
               flags: Sequence[str] = (), execution: Any = None) -> Graded:
        rec = results.record(
            student=job.student, submission=job.source or job.name, sha256=job.sha256,
            lab=lab.lab if lab else None, released=_released_name(job), questions=questions, status=status,
            error=error, flags=flags, execution=execution.as_dict() if execution else None, reproduce=reproduce,
            started=started, seconds=time.monotonic() - clock)
        notebook = execution.notebook if execution is not None and execution.started else None
        return Graded(rec, nbformat.writes(execute.inert(notebook)) if notebook is not None else None)

    if lab is None:
        return graded([], results.ERROR, job.problem or "the grader could not tell which lab this is")
    instructor = _instructor(lab.lab, job.instructor_source, job.instructor_file)
    try:
        nb = submission.read(job.notebook, job.name)
    except SubmissionError as exc:  # the student's file is broken: zero with the reason, not an error to retry
        zeros = [evaluate.zero(q, execute.NOT_RUN, str(exc), instructor) for q in lab.questions]
        return graded(zeros, results.GRADED, flags=[str(exc), *job.notes])
    parameters = submission.injected_parameters(lab, seed=settings.seed, time_scale=settings.time_scale)
    reproduce["parameters"] = parameters
    problems = _prepare(instructor, lab, settings, job.course_root, parameters)
    evaluator = evaluate.shared(job.course_root, protection, settings.limits)
    evaluator.start()
    execution = execute.execute(submission.sanitise(nb, lab), parameters, settings, job.course_root, protection)
    if not execution.started:
        return graded([], results.ERROR, execution.problem, execution=execution)
    outcomes, grader_problems = evaluate.score(execution, lab, instructor, evaluator, seed=settings.seed,
                                               parameters=parameters, data_dir=job.course_root / "data",
                                               cpu_seconds=settings.check_cpu_seconds)
    problems += grader_problems
    return graded(outcomes, results.ERROR if problems else results.GRADED, "; ".join(problems),
                  [*problems, *job.notes], execution)


@functools.lru_cache(maxsize=32)
def _instructor(lab: str, source: str, filename: str) -> hidden.Instructor:
    return hidden.load(lab, source, filename)


_prepared: set[tuple[str, str]] = set()


def _prepare(instructor: hidden.Instructor, lab: ReleasedLab, settings: Settings, root: Path,
             parameters: dict[str, Any]) -> list[str]:
    """Run the instructor module's `prepare` once per process (it may generate data kernels read)."""
    key = (lab.lab, instructor.digest)
    if instructor.prepare is None or key in _prepared:
        return []
    given = hidden.Given("", None, {}, None, settings.seed, parameters, dict(lab.constants), root / "data")
    try:
        instructor.prepare(given)
    except Exception as exc:
        return [f"prepare() of {instructor.filename} failed: {type(exc).__name__}: {exc}"]
    _prepared.add(key)
    return []


def _reproduce(job: Job, protection: isolation.Protection | None) -> dict[str, Any]:
    return {"seed": job.settings.seed, "time_scale": job.settings.time_scale, "backend": "sim",
            "settings": job.settings.as_dict(), "protection": protection.as_dict() if protection else None,
            "instructor_module": {"file": Path(job.instructor_file).name if job.instructor_file else None,
                                  "digest": _digest(job)},
            "grader_id": grader_id(job), "versions": results.versions()}


def grader_id(job: Job) -> str:
    return results.grader_id(_digest(job), job.settings.as_dict())


def _digest(job: Job) -> str:
    return hidden.Instructor("", job.instructor_source).digest


def _released_name(job: Job) -> str | None:
    if job.lab is None:
        return None
    try:
        return job.lab.path.relative_to(job.course_root).as_posix()
    except ValueError:
        return str(job.lab.path)


def _quiet() -> None:
    """Kernel chatter (timeouts, interrupts) belongs in the record, not on the instructor's terminal."""
    for name in ("papermill", "nbclient", "traitlets", "jupyter_client", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- a class (client side)


def make_jobs(submissions: Sequence[Submission], *, root: Path, settings: Settings, lab: str | None = None,
              instructor_dir: Path | None = None) -> list[Job]:
    """Jobs for these submissions; instructor modules are loaded and validated first (errors stop here)."""
    labs: dict[str, ReleasedLab | str] = {}
    modules: dict[str, tuple[str, str]] = {}
    if lab is not None:  # asked for explicitly: a wrong number is bad input, not a student's problem
        labs[lab] = submission.released_lab(root, lab)
    jobs = []
    for sub in submissions:
        data = b"" if sub.problem else sub.path.read_bytes()
        sha, problem, released = _sha(data), sub.problem, None
        chosen = None if sub.problem else lab or _detect(data, sub)
        if chosen is None and not problem:
            problem = "cannot tell which lab this notebook answers: pass --lab NN"
        elif chosen is not None:
            if chosen not in labs:
                try:
                    labs[chosen] = submission.released_lab(root, chosen)
                except SubmissionError as exc:
                    labs[chosen] = str(exc)
            if isinstance(labs[chosen], str):
                problem = str(labs[chosen])
            else:
                released = labs[chosen]
                if chosen not in modules:
                    modules[chosen] = hidden.read(instructor_dir, chosen)
                    hidden.load(chosen, *modules[chosen]).validate(list(released.questions))
        source, filename = modules.get(chosen or "", ("", ""))
        jobs.append(Job(sub.student, sub.key, data, sha, released if isinstance(released, ReleasedLab) else None,
                        source, filename, settings, root, problem, str(sub.path), (sub.note,) if sub.note else ()))
    return _one_per_lab(_same_files(jobs), submissions)


def _one_per_lab(jobs: list[Job], subs: Sequence[Submission]) -> list[Job]:
    """A lab a student handed in more than once is graded once: the newest file (then the last by
    name) counts, and the record says which others were left out."""
    mtime = {str(sub.path): sub.path.stat().st_mtime if not sub.problem else 0.0 for sub in subs}
    groups: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        if job.lab is not None:
            groups.setdefault((job.student, job.lab.lab), []).append(job)
    left_out: set[int] = set()
    chosen: dict[int, Job] = {}
    for (student, lab), group in groups.items():
        if len(group) < 2:
            continue
        counted = max(group, key=lambda j: (mtime.get(j.source, 0.0), j.source))
        others = [j for j in group if j is not counted]
        left_out.update(id(j) for j in others)
        note = (f"lab {lab} was handed in {len(group)} times; {Path(counted.source).name} (the newest) counts, "
                f"not {', '.join(Path(j.source).name for j in others)}")
        chosen[id(counted)] = dataclasses.replace(counted, notes=(*counted.notes, note))
    return [chosen.get(id(job), job) for job in jobs if id(job) not in left_out]


def _same_files(jobs: list[Job]) -> list[Job]:
    """Flag byte-identical submissions of different students (same sha256), for the instructor."""
    owners: dict[str, set[str]] = {}
    for job in jobs:
        if job.notebook:
            owners.setdefault(job.sha256, set()).add(job.student)
    out = []
    for job in jobs:
        others = sorted(owners.get(job.sha256, set()) - {job.student}) if job.notebook else []
        if others:
            job = dataclasses.replace(job, notes=(*job.notes, f"byte-identical to the submission of "
                                                              f"{', '.join(others)} (same sha256)"))
        out.append(job)
    return out


def _detect(data: bytes, sub: Submission) -> str | None:
    """The lab a submission answers (an unreadable one: from its file name, if that says)."""
    try:
        return submission.detect_lab(submission.read(data, sub.key), sub.path.name)
    except SubmissionError:
        match = submission.LAB_PREFIX.match(sub.path.name)
        return match.group(1) if match else None


def grade_class(paths: Sequence[str | Path] | Sequence[Submission], *, out: str | Path,
                executor: Executor | Any | None = None, workers: int = 2, force: bool = False,
                progress: bool = True, lab: str | None = None, settings: Settings = Settings(),
                after_deadline: bool = False, instructor_dir: str | Path | None = None,
                root: Path | None = None) -> ClassResult:
    """Grade every submission under `paths` and write records, feedback and the gradebook to `out`.

    `executor`: any `concurrent.futures.Executor` (default: a process pool of `workers` spawned
    processes), or a `distributed.Client` (its `get_executor()` is used).
    """
    root = (root or config.find_root()).resolve()
    out = Path(out).resolve()
    given = [p for p in paths if isinstance(p, Submission)]
    subs = submission.distinct_names(given) if given else submission.discover([Path(p) for p in paths])
    instructor = Path(instructor_dir).resolve() if instructor_dir is not None else root / "instructor"
    jobs = make_jobs(subs, root=root, settings=settings, lab=lab, instructor_dir=instructor)
    records: dict[int, dict[str, Any]] = {}
    todo = []
    for index, job in enumerate(jobs):
        kept = None if force else _reusable(out, job)
        if kept is not None:
            records[index] = kept
        else:
            todo.append(index)
    from tqdm import tqdm

    with tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="labkit grade", unit="nb",
              disable=not progress, file=sys.stderr) as bar:
        for index, graded in _run(jobs, todo, executor, workers):
            records[index] = graded.record
            _write(out, jobs[index], graded, after_deadline)
            bar.set_postfix_str(jobs[index].name, refresh=False)
            bar.update(1)
    ordered = [records[i] for i in range(len(jobs))]
    for index in set(range(len(jobs))) - set(todo):  # feedback may change with --after-deadline
        _write_feedback(out, jobs[index], ordered[index], after_deadline)
    (out / GRADEBOOK).write_text(results.gradebook(ordered), encoding="utf-8")
    return ClassResult(ordered, out, len(todo), len(jobs) - len(todo))


def _run(jobs: Sequence[Job], todo: Sequence[int], executor: Any, workers: int) -> Iterable[tuple[int, Graded]]:
    """(index, result) pairs as they complete; a job that raises yields an error record, and a job
    whose worker process dies costs that job only (see `_pooled`)."""
    for index in [i for i in todo if jobs[i].lab is None]:  # nothing to execute: answer here
        yield index, grade_job(jobs[index])
    todo = [i for i in todo if jobs[i].lab is not None]
    if not todo:
        return
    if executor is None:
        yield from _pooled(jobs, todo, workers)
        return
    pool = executor.get_executor() if hasattr(executor, "get_executor") else executor
    futures: dict[Future[Graded], int] = {pool.submit(grade_job, jobs[i]): i for i in todo}
    for future in as_completed(futures):
        index = futures[future]
        try:
            yield index, future.result()
        except Exception as exc:  # a grader bug, or the worker died (Dask retries, then gives up on it)
            yield index, crashed(jobs[index], exc)


def _pooled(jobs: Sequence[Job], todo: Sequence[int], workers: int,
            grade: Any = grade_job) -> Iterable[tuple[int, Graded]]:
    """A process pool of `workers`. When a submission kills its worker (memory, a signal), the pool
    breaks and every job still in it fails with it; those are then graded again each in a pool of
    its own, `workers` at a time, so the one that kills its worker again is known, and scored alone.
    `grade` is the worker's function (a test passes a stand-in)."""
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    broken: list[int] = []
    pool = _spawn_pool(min(workers, len(todo)))
    try:
        futures: dict[Future[Graded], int] = {pool.submit(grade, jobs[i]): i for i in todo}
        for future in as_completed(futures):
            index = futures[future]
            try:
                yield index, future.result()
            except BrokenProcessPool:
                broken.append(index)
            except Exception as exc:  # a grader bug: this job's record says so
                yield index, crashed(jobs[index], exc)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    def alone(index: int) -> Graded:
        solo = _spawn_pool(1)
        try:
            return solo.submit(grade, jobs[index]).result()
        except BrokenProcessPool:
            return killed(jobs[index])
        except Exception as exc:
            return crashed(jobs[index], exc)
        finally:
            solo.shutdown(wait=True, cancel_futures=True)

    if broken:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(broken)))) as threads:
            yield from zip(broken, threads.map(alone, broken))


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"))


def killed(job: Job) -> Graded:
    """A submission that killed the grader's worker process even when graded alone: zero for every
    question, recorded as graded (a re-run would only kill a worker again; `--force` retries it)."""
    assert job.lab is not None
    instructor = _instructor(job.lab.lab, job.instructor_source, job.instructor_file)
    detail = ("grading this notebook stopped the grader's worker process, twice (it may use more memory "
              "than a submission may): it could not be graded")
    zeros = [evaluate.zero(q, execute.FATAL, detail, instructor) for q in job.lab.questions]
    return Graded(results.record(
        student=job.student, submission=job.source or job.name, sha256=job.sha256, lab=job.lab.lab,
        released=_released_name(job), questions=zeros, status=results.GRADED, error="",
        flags=[detail + "; graded zero (`labkit grade --force` grades it again)", *job.notes],
        reproduce={"grader_id": grader_id(job)}, started=results.now(), seconds=0.0), None)


def crashed(job: Job, exc: BaseException) -> Graded:
    detail = " ".join(str(exc).split())[:200]
    return Graded(results.record(
        student=job.student, submission=job.source or job.name, sha256=job.sha256,
        lab=job.lab.lab if job.lab else None, released=_released_name(job), questions=[], status=results.ERROR,
        error=f"the grader failed on this submission ({type(exc).__name__}: {detail}); run again to retry",
        reproduce={"grader_id": grader_id(job)}, started=results.now(), seconds=0.0), None)


def paths_for(out: Path, job: Job) -> dict[str, Path]:
    stem = submission.student_id(Path(job.name).name)
    return {"record": out / RECORDS / job.student / f"{stem}.json",
            "markdown": out / FEEDBACK / job.student / f"{stem}.md",
            "html": out / FEEDBACK / job.student / f"{stem}.html",
            "executed": out / EXECUTED / job.student / f"{stem}.ipynb"}


def _reusable(out: Path, job: Job) -> dict[str, Any] | None:
    rec = results.read_json(paths_for(out, job)["record"])
    if (rec is not None and rec.get("status") == results.GRADED and rec.get("notebook_sha256") == job.sha256
            and rec.get("reproduce", {}).get("grader_id") == grader_id(job)):
        return rec
    return None


def _write(out: Path, job: Job, graded: Graded, after_deadline: bool) -> None:
    paths = paths_for(out, job)
    if graded.executed is not None:
        paths["executed"].parent.mkdir(parents=True, exist_ok=True)
        paths["executed"].write_text(graded.executed, encoding="utf-8")
    _write_feedback(out, job, graded.record, after_deadline)
    results.write_json(paths["record"], graded.record)  # last: a record means everything else is written


def _write_feedback(out: Path, job: Job, rec: dict[str, Any], after_deadline: bool) -> None:
    paths = paths_for(out, job)
    paths["markdown"].parent.mkdir(parents=True, exist_ok=True)
    paths["markdown"].write_text(feedback.markdown(rec, after_deadline=after_deadline), encoding="utf-8")
    paths["html"].write_text(feedback.html_page(rec, after_deadline=after_deadline), encoding="utf-8")


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()

