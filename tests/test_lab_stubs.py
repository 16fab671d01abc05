"""Generated labs run top to bottom with their stubs: every check fails politely, nothing raises.

Solutions are the other half: their recorded check outputs all pass (nbval keeps those outputs honest).
"""

from __future__ import annotations

import nbclient
import nbformat
import pytest

from labkit.checks import CHECK_MIME
from labkit.config import ENV_API_KEY, ENV_BACKEND, find_root
from labkit.results import outputs_of_type

ROOT = find_root()
LABS = sorted((ROOT / "labs").glob("*_lab.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*_lab.ipynb"))


def _check_calls(nb: nbformat.NotebookNode) -> int:
    return sum(cell.source.count("labkit.check(") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_runs_through_with_stubs_and_every_check_fails_politely(path, monkeypatch):
    monkeypatch.setenv(ENV_BACKEND, "sim")
    monkeypatch.delenv(ENV_API_KEY, raising=False)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} raised {errors[0].ename}: {errors[0].evalue}"
    checks = list(outputs_of_type(nb, CHECK_MIME))
    assert len(checks) == _check_calls(nb), "every check call shows a verdict"
    assert checks and not any(c["passed"] for c in checks), "a stub must not pass a check"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_passes_every_check(path):
    nb = nbformat.read(path, as_version=4)
    checks = list(outputs_of_type(nb, CHECK_MIME))
    assert len(checks) == _check_calls(nb) and checks
    assert all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]
