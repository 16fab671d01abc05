import nbformat
import pytest

from labkit import config, results


def test_record_line_and_verdict(capsys):
    results.record("token reduction", 0.341, at_least=0.20, unit="%", kind="exact",
                   controls="the ignore rules")
    out = capsys.readouterr().out
    assert "✔ token reduction: 34.1% (target ≥ 20.0%) — met [exact]" in out
    assert "what your code controls here: the ignore rules" in out


def test_unmet_and_run_to_run_values_are_marked():
    rec = results.Record("latency", 6.2, "<=", 5.0, unit="s", kind="local")
    assert not rec.passed and rec.volatile
    assert rec.line() == "✘ latency: ~6.20 s (target ≤ 5.00 s) — NOT met [local]"
    assert not results.Record("latency", 4.0, "<=", 5.0, unit="s", kind="modelled").volatile


def test_a_live_run_records_modelled_figures_as_live(monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-" + "x" * 8)
    config.configure(backend="live")
    try:
        results.record("latency", 4.0, at_most=5.0, unit="s", kind="modelled")
        results.record("tokens", 40, at_most=50, kind="exact")
    finally:
        config.configure(backend="sim")
    out = capsys.readouterr().out
    assert "latency: ~4.00 s (target ≤ 5.00 s) — met [live]" in out and "— met [exact]" in out


def test_record_needs_exactly_one_target_and_a_kind():
    with pytest.raises(ValueError, match="exactly one target"):
        results.record("x", 1.0, kind="exact")
    with pytest.raises(ValueError, match="exactly one target"):
        results.record("x", 1.0, at_least=0, at_most=2, kind="exact")
    with pytest.raises(TypeError, match="kind"):
        results.record("x", 1.0, at_least=0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="'exact', 'modelled' or 'local'"):
        results.record("x", 1.0, at_least=0, kind="measured")
    with pytest.raises(ValueError, match="kind is one of"):
        results.Record("x", 1.0, ">=", 0, kind="guess")


@pytest.mark.parametrize("value, unit, text", [
    (0.5, "%", "50.0%"), (1.5, "x", "1.50x"), (0.0012, "$", "$0.0012"), (1234, "tokens", "1,234 tokens"),
    (0.87, "", "0.87"),
])
def test_format_value(value, unit, text):
    assert results.format_value(value, unit) == text


def test_records_round_trip_through_a_notebook():
    rec = results.Record("speed-up", 0.35, ">=", 0.3, unit="%", kind="modelled", controls="the schedule")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=rec._repr_mimebundle_())]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    assert results.read_records(nb) == [rec]
