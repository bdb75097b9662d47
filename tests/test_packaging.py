"""environment.yml (conda users) lists the same dependencies as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def names(requirements):
    return {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_section = next(d["pip"] for d in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
                       if isinstance(d, dict))
    conda_pins = {r for r in pip_section if not r.startswith("-")}
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    assert conda_pins == wanted, (conda_pins ^ wanted)
    assert names(conda_pins) == names(wanted)
