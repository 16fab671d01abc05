"""The course's sample project: a podcast-production repository made by `data/sample_project.py`.

Why generated and not committed: most of it (node_modules, caches, build output, audio, large JSON)
is exactly what does not belong in git or in a context window. A seeded generator writes the same
bytes on every machine in about a second; `sample_project()` runs it only when the copy is missing
or was made with another seed or generator version.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
from pathlib import Path
from types import ModuleType

from .. import config
from .errors import ContextError

GENERATOR = "sample_project.py"


@dataclasses.dataclass(frozen=True)
class SampleProject:
    """Where the sample project is, its seed, and the files its agents need (`essential`)."""

    root: Path
    seed: int
    files: int
    size: int
    essential: tuple[str, ...]


def sample_project(seed: int = 0, out: str | Path | None = None, *, regenerate: bool = False) -> SampleProject:
    """The sample project for `seed` in `out` (default data/generated/sample_project), made if needed."""
    generator = _generator()
    root = Path(out) if out is not None else Path(generator.DEFAULT_OUT)
    manifest = generator.manifest_path(root)
    data = _read_manifest(manifest)
    current = data and data.get("seed") == seed and data.get("version") == generator.VERSION and root.is_dir()
    if regenerate or not current:
        try:
            data = generator.generate(root, seed)
        except (OSError, FileExistsError) as exc:
            raise ContextError(f"cannot generate the sample project in {str(root)!r}: {exc}") from None
    return SampleProject(root, seed, data["files"], data["bytes"], tuple(data["essential"]))


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@functools.cache
def _generator() -> ModuleType:
    """data/sample_project.py, imported from the course's data folder."""
    path = config.current().data_dir / GENERATOR
    spec = importlib.util.spec_from_file_location("labkit_sample_project", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ContextError(f"the sample-project generator {str(path)!r} is missing: is the course folder complete?")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
