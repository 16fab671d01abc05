import nbformat
import pytest

from labkit import results


def test_record_line_and_verdict(capsys):
    results.record("load-time reduction", 0.341, at_least=0.20, unit="%")
    out = capsys.readouterr().out
    assert "✔ load-time reduction: 34.1% (target ≥ 20.0%) — met" in out


def test_unmet_and_volatile_values_are_marked():
    rec = results.Record("latency", 6.2, "<=", 5.0, unit="s", volatile=True)
    assert not rec.passed
    assert rec.line() == "✘ latency: ~6.20 s (target ≤ 5.00 s) — NOT met"


def test_record_needs_exactly_one_target():
    with pytest.raises(ValueError, match="exactly one target"):
        results.record("x", 1.0)
    with pytest.raises(ValueError, match="exactly one target"):
        results.record("x", 1.0, at_least=0, at_most=2)


@pytest.mark.parametrize("value, unit, text", [
    (0.5, "%", "50.0%"), (1.5, "x", "1.50x"), (0.0012, "$", "$0.0012"), (1234, "tokens", "1,234 tokens"),
    (0.87, "", "0.87"),
])
def test_format_value(value, unit, text):
    assert results.format_value(value, unit) == text


def test_records_round_trip_through_a_notebook():
    rec = results.Record("speed-up", 0.35, ">=", 0.3, unit="%")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=rec._repr_mimebundle_())]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    assert results.read_records(nb) == [rec]
