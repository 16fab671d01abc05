import pytest

from labkit import cli


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_command_has_its_own_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0 and "usage: labkit" in capsys.readouterr().out


def test_a_broken_command_module_does_not_disable_the_others(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "broken", ("labkit.no_such_module", "never imported unless chosen"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build-labs", "--help"])
    assert exit_info.value.code == 0
