"""Generate the sample podcast-production repository for Activity 1 (see data/sample_project/README.md).

    python data/sample_project.py [--out DIR] [--seed N]

Importable too: `generate(out, seed)` writes the project and its manifest and returns the manifest.
Every random choice comes from a generator seeded with (seed, area), so a seed gives the same bytes
on every machine, and changing one area of the project does not reshuffle the others.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import sys
import time
from pathlib import Path

VERSION = 1  # bump when the generated content changes, so cached copies are regenerated
HERE = Path(__file__).resolve().parent
INPUTS = HERE / "sample_project"
DEFAULT_OUT = HERE / "generated" / "sample_project"
MANIFEST_SUFFIX = ".manifest.json"
PYC_MAGIC = b"\xa7\r\r\n\x00\x00\x00\x00"  # a CPython 3.11 .pyc header: binary from its first bytes

EPISODES = {
    "ep01_observer_effect": "the observer effect",
    "ep02_incompleteness": "Gödel's incompleteness theorems",
    "ep03_quantum_uncertainty": "quantum uncertainty",
    "ep04_halting_problem": "the halting problem",
    "ep05_chaos_theory": "chaos theory",
    "ep06_laplaces_demon": "Laplace's demon",
}
# The pipeline's modules and what each imports (the dependency graph priority loading follows).
MODULES = {
    "config": [], "models": ["config"], "cache": ["config"], "prompts": ["models"], "style": [],
    "quality": ["models"], "research_agent": ["models", "cache", "prompts"],
    "outline_agent": ["models", "prompts"], "script_writer": ["models", "prompts", "style"],
    "review_agent": ["models", "quality"], "audio": ["config"],
    "pipeline": ["research_agent", "outline_agent", "script_writer", "review_agent", "audio"],
    "cli": ["pipeline", "config"],
}
BACKUPS = {"research_agent_backup": "research_agent", "script_writer_old": "script_writer",
           "pipeline_old": "pipeline", "prompts_backup": "prompts"}
TESTS = ["cache", "quality", "prompts", "pipeline", "script_writer", "review_agent"]

SUBJECTS = ["the observer", "a measurement", "the wave function", "every formal system", "the halting oracle",
            "a chaotic orbit", "Laplace's demon", "the listener", "our best theory", "a perfect predictor",
            "the research agent", "the script", "the host", "an honest scientist", "the universe"]
VERBS = ["cannot fully describe", "quietly reshapes", "runs into", "depends on", "hides", "reveals",
         "limits", "outruns", "predicts", "questions", "amplifies", "forgets"]
OBJECTS = ["its own consistency", "the initial conditions", "what we can know", "the next decimal place",
           "the boundary of proof", "a simple question", "the measurement problem", "every shortcut",
           "the limits of computation", "our intuition", "the edge of knowledge", "the story we tell"]
TAILS = ["in practice", "for deep reasons", "as Turing showed", "whatever we do", "by design",
         "in the long run", "at small scales", "once we look closely", "and that is the point", ""]
IDENTIFIERS = ["value", "options", "callback", "node", "buffer", "state", "token", "stream", "queue",
               "handler", "cache", "result", "config", "context", "index", "payload", "entry", "chunk"]
PACKAGES = ["wavesurfer", "howler", "lodash-lite", "date-fns-mini", "marked", "dompurify", "axios-lite",
            "eventemitter3", "nanoid", "debounce", "classnames", "uuid-lite", "chalk-lite", "semver",
            "minimist", "ms", "mime-lite", "qs", "cookie", "escape-html", "fast-deep-equal", "json5",
            "yaml-lite", "picomatch", "micromatch-lite", "glob-parent", "braces", "fill-range",
            "to-regex-range", "is-number", "kind-of", "ansi-regex", "strip-ansi", "wrap-ansi",
            "string-width", "emoji-regex", "color-convert", "color-name", "supports-color", "has-flag",
            "inherits", "once", "wrappy", "safe-buffer", "readable-lite", "util-deprecate",
            "process-nextick", "core-util-is", "isarray", "balanced-match"]


def sentence(rng: random.Random) -> str:
    tail = rng.choice(TAILS)
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{' ' + tail if tail else ''}."
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def prose(rng: random.Random, approx_bytes: int) -> str:
    parts: list[str] = []
    while sum(len(p) for p in parts) < approx_bytes:
        parts.append(paragraph(rng, rng.randint(3, 7)))
    return "\n\n".join(parts) + "\n"


class Writer:
    """Writes files under a root and remembers which are essential to the project's agents."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.essential: list[str] = []
        self.files = 0
        self.size = 0

    def write(self, rel: str, data: str | bytes, *, essential: bool = False) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        path.write_bytes(payload)
        self.files += 1
        self.size += len(payload)
        if essential:
            self.essential.append(rel)


def python_module(rng: random.Random, name: str, imports: list[str]) -> str:
    lines = [f'"""{name.replace("_", " ").capitalize()} for the Knowledge\'s Edge pipeline.', "",
             textwrap_fill(paragraph(rng, 3)), '"""', "", "from __future__ import annotations", ""]
    lines += [f"from podcast import {module}" for module in imports]
    lines += ["", ""]
    for _ in range(rng.randint(4, 8)):
        fn = f"{rng.choice(['build', 'score', 'load', 'render', 'check', 'plan', 'draft'])}_{rng.choice(IDENTIFIERS)}"
        args = ", ".join(sorted(set(rng.sample(IDENTIFIERS, rng.randint(1, 3)))))
        lines += [f"def {fn}({args}):", f'    """{sentence(rng)}', "", f"    {sentence(rng)}", '    """']
        for _ in range(rng.randint(3, 9)):
            var = rng.choice(IDENTIFIERS)
            lines.append(f"    {var} = {rng.choice(IDENTIFIERS)}  # {sentence(rng).lower()}")
        lines += [f"    return {rng.choice(IDENTIFIERS)}", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def textwrap_fill(text: str, width: int = 96) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def javascript(rng: random.Random, approx_bytes: int) -> str:
    out = ["'use strict';", ""]
    while sum(len(line) + 1 for line in out) < approx_bytes:
        fn = rng.choice(IDENTIFIERS) + rng.choice(["Of", "To", "From", "With", "For"]) + rng.choice(IDENTIFIERS).title()
        args = ", ".join(rng.sample(IDENTIFIERS, rng.randint(1, 3)))
        out += [f"/** {sentence(rng)} */", f"function {fn}({args}) {{"]
        for _ in range(rng.randint(2, 6)):
            out.append(f"  const {rng.choice(IDENTIFIERS)}{rng.randint(0, 9)} = "
                       f"{rng.choice(IDENTIFIERS)} && {rng.choice(IDENTIFIERS)}[{rng.randint(0, 99)}];")
        out += [f"  return {rng.choice(IDENTIFIERS)};", "}", f"module.exports.{fn} = {fn};", ""]
    return "\n".join(out)


def wav(rng: random.Random, seconds: float, rate: int = 22050) -> bytes:
    """A WAV header and `seconds` of mono 16-bit noise (binary junk, as real audio is to a tokenizer)."""
    data = rng.randbytes(int(seconds * rate) * 2)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data))
    return header + data


def mp3(rng: random.Random, size: int) -> bytes:
    return b"ID3\x03\x00\x00\x00\x00\x00\x0a" + rng.randbytes(size)


def response_json(rng: random.Random, episode: str, n: int) -> str:
    return json.dumps({
        "id": f"msg_{rng.getrandbits(64):016x}", "type": "message", "role": "assistant",
        "model": "claude-haiku-5-5", "episode": episode, "request": n,
        "content": [{"type": "text", "text": prose(rng, rng.randint(6000, 20000))}],
        "usage": {"input_tokens": rng.randint(800, 9000), "output_tokens": rng.randint(300, 4000)},
    }, indent=2, ensure_ascii=False)


def transcript_json(rng: random.Random, approx_bytes: int) -> str:
    segments, clock, size = [], 0.0, 0
    while size < approx_bytes:
        text = sentence(rng)
        words = [{"w": w, "t": round(clock + i * 0.31, 2), "conf": round(rng.uniform(0.7, 1.0), 3)}
                 for i, w in enumerate(text.split())]
        segment = {"start": round(clock, 2), "end": round(clock + 0.31 * len(words), 2),
                   "speaker": rng.choice(["host", "guest"]), "text": text, "words": words}
        clock += 0.31 * len(words) + rng.uniform(0.1, 0.8)
        size += len(json.dumps(segment)) + 2
        segments.append(segment)
    return json.dumps({"format": "transcript-v2", "segments": segments})


def log_lines(rng: random.Random, approx_bytes: int, logger: str) -> str:
    lines, size, second = [], 0, 0
    while size < approx_bytes:
        second += rng.randint(0, 4)
        stage = rng.choice(["research", "outline", "script", "review", "render"])
        episode = rng.choice(list(EPISODES))
        level = rng.choices(["INFO", "DEBUG", "WARNING", "ERROR"], weights=[60, 30, 8, 2])[0]
        line = (f"2026-03-{1 + second // 86400 % 28:02d} {second // 3600 % 24:02d}:{second // 60 % 60:02d}:"
                f"{second % 60:02d} {level} {logger}: stage={stage} episode={episode} "
                f"tokens={rng.randint(100, 9000)} latency_ms={rng.randint(200, 12000)} {sentence(rng)}")
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def area(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def write_sources(w: Writer, seed: int) -> None:
    rng = area(seed, "sources")
    w.write("CLAUDE.md", (INPUTS / "CLAUDE.md").read_text(encoding="utf-8"), essential=True)
    w.write("README.md", "# Knowledge's Edge\n\n" + prose(rng, 2500), essential=True)
    w.write("pyproject.toml", '[project]\nname = "podcast-pipeline"\nversion = "0.4.0"\n'
            'requires-python = ">=3.11"\n\n[project.scripts]\npodcast = "podcast.cli:main"\n', essential=True)
    w.write(".env", "# local secrets for the render service (fake values for the lesson)\n"
            "RENDER_SERVICE_TOKEN=fake-token-for-the-lesson\n")
    agents = "".join(f"{agent}:\n  model: claude-haiku-5-5\n  max_tokens: {rng.randint(1, 8) * 500}\n"
                     for agent in ("research", "outline", "script", "review"))
    w.write("config/agents.yaml", agents, essential=True)
    w.write("config/voices.json", json.dumps({"host": "warm-baritone", "guest": "bright-alto",
                                              "pace_wpm": 150}, indent=2), essential=True)
    for doc in ("architecture", "style_guide", "episode_format", "runbook"):
        w.write(f"docs/{doc}.md", f"# {doc.replace('_', ' ').title()}\n\n" + prose(rng, rng.randint(3000, 7000)),
                essential=True)
    for name, imports in [("__init__", [])] + list(MODULES.items()):
        w.write(f"src/podcast/{name}.py", python_module(area(seed, f"module:{name}"), name, imports), essential=True)
    for backup, original in BACKUPS.items():
        w.write(f"src/podcast/{backup}.py", python_module(area(seed, f"backup:{backup}"), original, MODULES[original]))
    w.write("tests/conftest.py", '"""Shared fixtures."""\n\nimport pytest\n', essential=True)
    for name in TESTS:
        w.write(f"tests/test_{name}.py", python_module(area(seed, f"test:{name}"), f"tests of {name}", [name]),
                essential=True)
    for name in ("player", "episode_list"):
        w.write(f"web/{name}.js", javascript(area(seed, f"web:{name}"), 4000), essential=True)
    w.write("data/episode_index.json", json.dumps({slug: {"title": topic, "minutes": 27}
                                                   for slug, topic in EPISODES.items()}, indent=2), essential=True)
    w.write("data/topics.yaml", "".join(f"- {topic}\n" for topic in EPISODES.values()), essential=True)
    stats = [{"day": d, "episode": rng.choice(list(EPISODES)), "plays": rng.randint(50, 5000),
              "completion": round(rng.random(), 3)} for d in range(2600)]
    w.write("data/listener_stats.json", json.dumps(stats))


def write_episodes(w: Writer, seed: int) -> None:
    for slug, topic in EPISODES.items():
        rng = area(seed, f"episode:{slug}")
        base = f"projects/{slug}"
        w.write(f"{base}/outline.md", f"# Outline: {topic}\n\nResearch: see research/notes.md and "
                f"research/sources.json.\n\n" + prose(rng, 2000), essential=True)
        w.write(f"{base}/script.md", f"# Script: {topic}\n\n" + prose(rng, rng.randint(9000, 14000)), essential=True)
        w.write(f"{base}/research/notes.md", f"# Research notes: {topic}\n\n" + prose(rng, 4000), essential=True)
        w.write(f"{base}/research/sources.json", json.dumps(
            [{"id": i, "title": sentence(rng), "year": rng.randint(1900, 2026)} for i in range(rng.randint(20, 60))],
            indent=2), essential=True)
        w.write(f"{base}/research/transcript_raw.json", transcript_json(rng, rng.randint(120_000, 350_000)))
        for n in range(rng.randint(12, 20)):
            w.write(f"{base}/cache/response_{n:03d}.json", response_json(rng, slug, n))
        w.write(f"{base}/audio_output/final_mix.wav", wav(rng, rng.uniform(15, 25)))
        w.write(f"{base}/audio_output/final_mix.mp3", mp3(rng, rng.randint(200_000, 400_000)))
        w.write(f"{base}/audio_output/render.log", log_lines(rng, 20_000, "podcast.audio"))
        w.write(f"{base}/audio_output/loudness.json", json.dumps(
            {"integrated_lufs": round(rng.uniform(-18, -14), 1), "true_peak_db": round(rng.uniform(-2, -0.5), 1),
             "segments": [round(rng.uniform(-24, -10), 1) for _ in range(120)]}, indent=1))
        w.write(f"{base}/audio_output/mix_notes.md", f"# Mix notes: {topic}\n\n" + prose(rng, 900), essential=True)
        w.write(f"{base}/recordings/host_take1.wav", wav(rng, rng.uniform(6, 12)))
        if rng.random() < 0.5:
            for n in range(3):
                w.write(f"{base}/temp/chunk_{n:03d}.wav", wav(rng, 4))
            w.write(f"{base}/temp/scratch.txt", prose(rng, 1500))


def write_tooling(w: Writer, seed: int) -> None:
    rng = area(seed, "tooling")
    lock = {"name": "podcast-web", "lockfileVersion": 3, "packages": {}}
    w.write("package.json", json.dumps({"name": "podcast-web", "private": True,
                                        "dependencies": {p: "^1.0.0" for p in PACKAGES[:8]}}, indent=2), essential=True)
    for package in PACKAGES:
        prng = area(seed, f"npm:{package}")
        version = f"{prng.randint(0, 9)}.{prng.randint(0, 30)}.{prng.randint(0, 20)}"
        root = f"node_modules/{package}"
        w.write(f"{root}/package.json", json.dumps({"name": package, "version": version, "main": "index.js"}, indent=2))
        w.write(f"{root}/README.md", f"# {package}\n\n" + prose(prng, 1500))
        w.write(f"{root}/LICENSE", "MIT License\n\n" + paragraph(prng, 4) + "\n")
        w.write(f"{root}/index.js", javascript(prng, prng.randint(800, 3000)))
        for n in range(prng.randint(12, 28)):
            w.write(f"{root}/lib/{prng.choice(IDENTIFIERS)}_{n}.js", javascript(prng, prng.randint(600, 4000)))
        lock["packages"][root] = {
            "version": version, "resolved": f"https://registry.npmjs.org/{package}/-/{package}-{version}.tgz",
            "integrity": "sha512-" + prng.randbytes(48).hex(),
            "dependencies": {p: f"^{prng.randint(0, 9)}.0.0" for p in prng.sample(PACKAGES, 4)}}
        for dep in prng.sample(PACKAGES, 8):  # transitive copies, as real lockfiles list them
            lock["packages"][f"{root}/node_modules/{dep}"] = {
                "version": f"{prng.randint(0, 9)}.{prng.randint(0, 30)}.0",
                "integrity": "sha512-" + prng.randbytes(48).hex()}
    w.write("package-lock.json", json.dumps(lock, indent=2))
    for name in ["__init__", *MODULES]:
        w.write(f"src/podcast/__pycache__/{name}.cpython-311.pyc", PYC_MAGIC + rng.randbytes(rng.randint(1500, 9000)))
        w.write(f"build/lib/podcast/{name}.py", (w.root / f"src/podcast/{name}.py").read_text(encoding="utf-8"))
        w.write(f"coverage/podcast_{name}_py.html",
                "<html><body><pre>\n" + javascript(rng, 6000) + "</pre></body></html>\n")
    for name in TESTS:
        w.write(f"tests/__pycache__/test_{name}.cpython-311-pytest-8.3.pyc", PYC_MAGIC + rng.randbytes(3000))
    w.write("coverage/index.html", "<html><body>" + prose(rng, 3000) + "</body></html>\n")
    w.write(".pytest_cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
    w.write(".pytest_cache/README.md", "# pytest cache directory #\n\n" + prose(rng, 400))
    node_ids = [f"tests/test_{t}.py::test_{i}" for t in TESTS for i in range(40)]
    w.write(".pytest_cache/v/cache/nodeids", json.dumps(node_ids, indent=2))
    w.write(".pytest_cache/v/cache/lastfailed", json.dumps({f"tests/test_{TESTS[0]}.py::test_3": True}, indent=2))
    w.write("dist/podcast_pipeline-0.4.0-py3-none-any.whl", b"PK\x03\x04\x14\x00\x00\x00" + rng.randbytes(180_000))
    w.write("dist/podcast_pipeline-0.4.0.tar.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + rng.randbytes(160_000))
    w.write("logs/pipeline.log", log_lines(rng, rng.randint(400_000, 700_000), "podcast.pipeline"))
    w.write("logs/api_calls.log", log_lines(rng, 200_000, "podcast.models"))
    w.write("logs/errors_summary.log", log_lines(rng, 3000, "podcast.review"))


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + MANIFEST_SUFFIX)


def generate(out: str | Path = DEFAULT_OUT, seed: int = 0) -> dict:
    """Write the sample project into `out` (replacing an earlier one) and return its manifest.

    The project is built in a temporary sibling folder and renamed into place, so two processes
    generating the same project at once (two notebooks run in parallel) never see a half-written one.
    """
    out = Path(out)
    manifest = manifest_path(out)
    if out.exists() and not manifest.is_file() and any(out.iterdir()):
        raise FileExistsError(f"refusing to replace {out}: it is not empty and was not made by this generator")
    building = out.with_name(f".{out.name}.{os.getpid()}.building")
    retired = out.with_name(f".{out.name}.{os.getpid()}.old")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        writer = Writer(building)
        write_sources(writer, seed)
        write_episodes(writer, seed)
        write_tooling(writer, seed)
        data = {"generator": "data/sample_project.py", "version": VERSION, "seed": seed, "files": writer.files,
                "bytes": writer.size, "essential": sorted(writer.essential)}
        if out.exists():
            try:
                out.rename(retired)
            except FileNotFoundError:  # another process moved it first
                pass
        try:
            building.rename(out)
        except OSError:  # another process put its copy in place first: ours is not needed
            if not out.is_dir():
                raise
        staged = manifest.with_name(f".{manifest.name}.{os.getpid()}")
        staged.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(staged, manifest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = generate(args.out, args.seed)
    print(f"wrote {data['files']:,} files, {data['bytes'] / 1e6:.1f} MB, to {args.out} "
          f"(seed {args.seed}) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
