"""The two ways to install labkit (pip from pyproject.toml, conda from environment.yml) must agree."""

import tomllib

import yaml

from labkit.config import find_root

ROOT = find_root()


def test_environment_yml_declares_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]).union(*project["optional-dependencies"].values())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip_section) - {"-e ."} == declared
    assert "-e ." in pip_section


def test_core_packages_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("<")[0].split("=")[0] for dep in project["dependencies"]}
    assert {"jupyterlab", "ipywidgets", "anthropic", "pandas", "matplotlib", "nbval", "papermill",
            "ipykernel"} <= names
