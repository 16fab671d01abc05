"""`labkit record`: fresh, simulator-only executions written in place; failures leave files alone.

One module-scoped record run covers a passing and a failing notebook (copies in a temp folder, with
stale outputs and execution counts) under a hostile environment: live backend, another seed and a
key set. The recorded file must show none of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from labkit import cli
from labkit.config import ENV_API_KEY, ENV_BACKEND, ENV_SEED, find_root

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
FAKE_KEY = "sk-ant-" + "test-must-never-reach-a-kernel"  # built at run time: no key-shaped literal in the repo


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def with_stale_outputs(path: Path) -> None:
    """Make a copy look previously recorded out of order, so renumbering and clearing are visible."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 42
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale\n")]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("record")
    for name in ("criterion.ipynb", "failing.ipynb"):
        shutil.copy(FIXTURES / name, folder / name)
        with_stale_outputs(folder / name)
    failing_before = (folder / "failing.ipynb").read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_BACKEND, "live")
        mp.setenv(ENV_SEED, "5")
        mp.setenv(ENV_API_KEY, FAKE_KEY)
        code, stdout, stderr = run_cli("record", str(folder), "--workers", "2", "--no-progress")
    return {"code": code, "stdout": stdout, "stderr": stderr, "folder": folder,
            "failing_before": failing_before}


def test_a_failing_notebook_fails_the_command_and_is_left_unchanged(recorded: dict) -> None:
    assert recorded["code"] == 1
    assert (recorded["folder"] / "failing.ipynb").read_bytes() == recorded["failing_before"]
    assert "cell 3 (ratio = numerator / 0): ZeroDivisionError: division by zero" in recorded["stdout"]
    assert "left unchanged" in recorded["stdout"]
    assert "2 notebooks: 1 recorded, 1 failed" in recorded["stdout"]


def test_execution_counts_run_from_one_in_order(recorded: dict) -> None:
    nb = nbformat.read(recorded["folder"] / "criterion.ipynb", as_version=4)
    counts = [cell.execution_count for cell in nb.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert "stale" not in json.dumps(nb)


def test_outputs_are_stored_with_no_papermill_traces_and_ids_kept(recorded: dict) -> None:
    nb = nbformat.read(recorded["folder"] / "criterion.ipynb", as_version=4)
    original = nbformat.read(FIXTURES / "criterion.ipynb", as_version=4)
    assert [cell.id for cell in nb.cells] == [cell.id for cell in original.cells]
    assert [cell.source for cell in nb.cells] == [cell.source for cell in original.cells]
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        assert "injected-parameters" not in cell.metadata.get("tags", [])
    assert "✔ demo: 50.0% (target ≥ 20.0%) — met" in json.dumps(nb, ensure_ascii=False)


def test_kernels_are_forced_to_the_simulator_with_the_default_seed(recorded: dict) -> None:
    text = json.dumps(nbformat.read(recorded["folder"] / "criterion.ipynb", as_version=4))
    assert "backend=sim (offline simulated Claude API), seed=0, time_scale=0.01" in text
    assert FAKE_KEY not in text + recorded["stdout"] + recorded["stderr"]


def test_labs_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = tmp_path / "labs" / "00_lab.ipynb"
    lab.parent.mkdir()
    shutil.copy(FIXTURES / "criterion.ipynb", lab)
    before = lab.read_bytes()
    assert cli.main(["record", str(lab)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labkit: error: ") and "labs carry no outputs" in err
    assert lab.read_bytes() == before


def test_the_course_labs_folder_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["record", str(find_root() / "labs")]) == 2
    assert "labs carry no outputs" in capsys.readouterr().err


def test_missing_notebook_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["record", str(tmp_path / "gone.ipynb")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_help_mentions_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["record", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seed", "--time-scale", "--workers", "--timeout", "--start-timeout", "--no-progress"):
        assert option in text
