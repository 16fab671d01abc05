"""`labkit run`: papermill in worker processes, parameters, failures, the scorecard and its JSON.

Each notebook execution costs a kernel start (and each run a worker start), so the executions are
shared: one module-scoped run of a passing and a failing notebook, and one of a live-mode run with a
fake key next to a notebook that times out. Everything else uses no kernel at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import nbformat
import pytest

from labkit import cli
from labkit.config import ENV_API_KEY, find_root
from labkit.course import runner, scorecard
from labkit.results import Record

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
CRITERION = FIXTURES / "criterion.ipynb"
FAILING = FIXTURES / "failing.ipynb"
SLOW = FIXTURES / "slow.ipynb"
FAKE_KEY = "sk-ant-" + "test-must-never-be-printed"  # built at run time: no key-shaped literal in the repo
RELATIVE = Path("tests") / "fixtures" / "notebooks"  # the fixtures' path under the course root


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`labkit ...` in this process, capturing what it prints (usable from module-scoped fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A passing and a failing notebook, two workers, seed 7, progress bar on (the default)."""
    out = tmp_path_factory.mktemp("run")
    before = {path: digest(path) for path in (CRITERION, FAILING)}
    code, stdout, stderr = run_cli("run", str(CRITERION), str(FAILING), "--out", str(out),
                                   "--workers", "2", "--seed", "7", "--timeout", "60")
    return {"code": code, "out": out, "stdout": stdout, "stderr": stderr, "before": before}


@pytest.fixture(scope="module")
def live_and_timeout_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Live mode with a fake key (the fixture never calls the API) beside a notebook that times out."""
    out = tmp_path_factory.mktemp("live")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_API_KEY, FAKE_KEY)
        code, stdout, stderr = run_cli("run", str(CRITERION), str(SLOW), "--backend", "live",
                                       "--out", str(out), "--timeout", "6", "--no-progress")
    return {"code": code, "out": out, "stdout": stdout, "stderr": stderr}


# --------------------------------------------------------------------------- a passing and a failing notebook


def test_a_failing_notebook_fails_the_run(mixed_run: dict) -> None:
    assert mixed_run["code"] == 1


def test_scorecard_shows_status_time_criterion_and_checks(mixed_run: dict) -> None:
    stdout = mixed_run["stdout"]
    row = next(line for line in stdout.splitlines() if line.startswith(f"{RELATIVE.as_posix()}/criterion.ipynb"))
    assert "ran" in row and "~" in row and " s " in row
    assert "1/1 met" in row
    assert "1/2" in row  # lab checks: one passed of two
    assert "✔ demo: 50.0% (target ≥ 20.0%) — met [exact]" in stdout


def test_scorecard_explains_its_labels_and_says_where_the_notebooks_went(mixed_run: dict) -> None:
    stdout = mixed_run["stdout"]
    assert "Where each figure comes from:" in stdout and "[exact] computed from your code and data" in stdout
    assert "~ marks a value that varies from run to run" in stdout
    assert f"Executed notebooks (with every output) are in {mixed_run['out']}/" in stdout


def test_failure_names_the_cell_and_the_error_and_the_good_result_survives(mixed_run: dict) -> None:
    stdout = mixed_run["stdout"]
    row = next(line for line in stdout.splitlines() if line.startswith(f"{RELATIVE.as_posix()}/failing.ipynb"))
    assert "FAILED" in row
    assert "cell 3 (ratio = numerator / 0): ZeroDivisionError: division by zero" in stdout
    assert str(mixed_run["out"] / RELATIVE / "failing.ipynb") in stdout
    assert "Traceback" not in stdout
    assert stdout.rstrip().endswith("2 notebooks: 1 ran, 1 failed; criteria met: 1/1")


def test_scorecard_fits_a_100_column_terminal(mixed_run: dict) -> None:
    assert max(len(line) for line in mixed_run["stdout"].splitlines()) <= 100


def test_outputs_mirror_paths_under_out_and_inputs_are_untouched(mixed_run: dict) -> None:
    for name in ("criterion.ipynb", "failing.ipynb"):
        assert (mixed_run["out"] / RELATIVE / name).is_file()
    assert {path: digest(path) for path in mixed_run["before"]} == mixed_run["before"]


def test_declared_parameters_are_injected(mixed_run: dict) -> None:
    nb = nbformat.read(mixed_run["out"] / RELATIVE / "criterion.ipynb", as_version=4)
    injected = [cell for cell in nb.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "SEED = 7" in injected[0].source
    assert 'BACKEND = "sim"' in injected[0].source
    assert "TIME_SCALE = 0.01" in injected[0].source
    assert "seed=7" in json.dumps([cell.get("outputs") for cell in nb.cells])  # the kernel saw it


def test_notebook_without_parameters_cell_gets_settings_from_the_environment(mixed_run: dict) -> None:
    nb = nbformat.read(mixed_run["out"] / RELATIVE / "failing.ipynb", as_version=4)
    assert not any("injected-parameters" in cell.metadata.get("tags", []) for cell in nb.cells)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "LABKIT_SEED = 7" in first_code.outputs[0]["text"]


def test_scorecard_json_is_written(mixed_run: dict) -> None:
    data = json.loads((mixed_run["out"] / "scorecard.json").read_text())
    by_name = {entry["notebook"]: entry for entry in data["notebooks"]}
    good = by_name[f"{RELATIVE.as_posix()}/criterion.ipynb"]
    bad = by_name[f"{RELATIVE.as_posix()}/failing.ipynb"]
    assert good["status"] == "ran" and good["error"] is None and good["seconds"] > 0
    assert good["records"] == [{"name": "demo", "value": 0.5, "op": ">=", "target": 0.2, "unit": "%",
                                "kind": "exact", "controls": "", "passed": True}]
    assert (good["checks"]["passed"], good["checks"]["total"]) == (1, 2)
    assert bad["status"] == "FAILED"
    assert bad["error"] == {"cell": 3, "source": "ratio = numerator / 0", "ename": "ZeroDivisionError",
                            "evalue": "division by zero"}
    assert data["summary"] == {"notebooks": 2, "ran": 1, "failed": 1, "criteria_met": 1, "criteria": 1}


def test_progress_bar_goes_to_stderr(mixed_run: dict) -> None:
    assert "labkit run" in mixed_run["stderr"] and "2/2" in mixed_run["stderr"]


# --------------------------------------------------------------------------- live mode, timeouts


def test_a_cell_past_its_timeout_is_reported_as_timeout(live_and_timeout_run: dict) -> None:
    assert live_and_timeout_run["code"] == 1
    stdout = live_and_timeout_run["stdout"]
    row = next(line for line in stdout.splitlines() if line.startswith(f"{RELATIVE.as_posix()}/slow.ipynb"))
    assert "timeout" in row
    assert "cell 2 (time.sleep(60)): timeout: cell still running after 6 s" in stdout
    assert "2 notebooks: 1 ran, 1 failed" in stdout


def test_live_backend_is_injected_and_the_key_is_never_written(live_and_timeout_run: dict) -> None:
    out = live_and_timeout_run["out"]
    nb = nbformat.read(out / RELATIVE / "criterion.ipynb", as_version=4)
    assert any('BACKEND = "live"' in cell.source for cell in nb.cells)
    assert "backend=live (real Claude API, key set)" in json.dumps(nb)
    written = [path.read_text(errors="replace") for path in out.rglob("*") if path.is_file()]
    for text in [live_and_timeout_run["stdout"], live_and_timeout_run["stderr"], *written]:
        assert FAKE_KEY not in text


# --------------------------------------------------------------------------- bad input fails fast (no kernel)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("labkit: error: ")
    return err


def test_missing_notebook_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.ipynb"
    assert cli.main(["run", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert str(missing) in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert cli.main(["run", str(text)]) == 2
    assert "not a notebook" in one_line_error(capsys)


def test_a_malformed_notebook_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert cli.main(["run", str(broken)]) == 2
    assert "cannot read notebook" in one_line_error(capsys)


def test_unknown_backend_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(CRITERION), "--backend", "nope"]) == 2
    assert "unknown backend 'nope'" in one_line_error(capsys)


def test_live_without_key_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV_API_KEY, raising=False)
    assert cli.main(["run", str(CRITERION), "--backend", "live"]) == 2
    assert ENV_API_KEY in one_line_error(capsys)


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--backend", "--seed", "--time-scale", "--workers", "--timeout",
                   "--start-timeout", "--no-progress", "NOTEBOOK_OR_FOLDER", "examples:"):
        assert option in text
    assert "does not by itself fail" in " ".join(text.split())


# --------------------------------------------------------------------------- helpers, no kernel


def test_folders_expand_to_their_sorted_notebooks_once() -> None:
    found = runner.collect_notebooks([str(FIXTURES), str(CRITERION)], find_root())
    assert [path.name for path in found] == ["criterion.ipynb", "failing.ipynb", "slow.ipynb"]


def test_only_declared_parameters_are_injected() -> None:
    assert runner.declared_parameters(CRITERION) == {"BACKEND", "SEED", "TIME_SCALE"}
    assert runner.declared_parameters(FAILING) == set()


def test_scorecard_truncates_long_names_and_wraps_long_errors(tmp_path: Path) -> None:
    long_name = "notebooks/" + "very_long_folder_name/" * 6 + "12_a_notebook.ipynb"
    outcomes = [
        runner.Outcome(long_name, tmp_path / "a.ipynb", None, runner.FAILED, 3.21,
                       runner.CellError(4, "x = compute()", "ValueError", "bad value " * 30)),
        runner.Outcome("notebooks/01.ipynb", tmp_path / "b.ipynb", None, runner.RAN, 12.34),
    ]
    text = scorecard.build(outcomes).text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "12_a_notebook.ipynb" in text and "…" in text
    assert "cell 4 (x = compute()): ValueError: bad value" in text
    assert "~12.3 s" in text
    assert text.endswith("2 notebooks: 1 ran, 1 failed; criteria met: 0/0")


def test_unmet_criterion_is_reported_not_failed(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    record = Record("speed-up", 0.1, ">=", 0.3, "%")
    nb.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "display_data", data=record._repr_mimebundle_())]))
    path = tmp_path / "done.ipynb"
    nbformat.write(nb, path)
    card = scorecard.build([runner.Outcome("done.ipynb", path, path, runner.RAN, 1.0)])
    assert "✘ speed-up: 10.0% (target ≥ 30.0%) — NOT met" in card.text()
    assert card.summary() == "1 notebook: 1 ran, 0 failed; criteria met: 0/1"
