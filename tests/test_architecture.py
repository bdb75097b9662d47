"""The architecture holds: the library's parts import one way (import-linter contracts in pyproject.toml).

The contracts run on the real tree, and on copies of it with one wrong-way import each, which must
break exactly the contract that forbids it: a contract that cannot fail checks nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "musiclime"
PYPROJECT = ROOT / "pyproject.toml"


def contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def lint_imports(src: Path, *contract_ids: str) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` with this repository's contracts over the ``musiclime`` package under ``src``."""
    lint = Path(sys.executable).with_name("lint-imports")
    args = [str(lint), str(PYPROJECT), "--no-cache", "--no-logo"]
    for contract_id in contract_ids:
        args += ["--contract", contract_id]
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(args, cwd=src, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract():
    result = lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    assert kept and int(kept.group(1)) == len(contracts()) and kept.group(2) == "0", result.stdout


def test_the_package_top_level_is_the_parts():
    """``ls src/musiclime`` shows the parts of the layers contract and the public API, nothing else."""
    layers = next(c for c in contracts() if c["id"] == "layers")["layers"]
    parts = {name.strip() for layer in layers for name in layer.split("|")}
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert entries == parts | {"__init__.py"}, f"not a part of the architecture: {sorted(entries - parts)}"
    assert all((PACKAGE / part / "__init__.py").is_file() for part in parts)


WRONG_WAY = [
    # (module file, import it gains, contracts that must break)
    ("method/estimation/sampling.py", "from ...evidence import figures", {"layers", "method"}),
    ("method/estimation/full_fit.py", "from ..scoring import inference", {"estimation"}),
    # evidence reads explanations, which import the surrogate: it now reaches a model indirectly
    ("method/estimation/surrogate.py", "from ...models import glassbox", {"layers", "method", "evidence"}),
    ("evidence/figures.py", "from ..method.scoring import inference", {"evidence"}),
    ("evidence/pages.py", "from ..tracking import settings", {"layers"}),
    ("tracking/records.py", "from ..method.estimation import sampling", {"tracking"}),
    ("common/errors.py", "from ..pipeline import plan", {"layers", "method", "estimation", "evidence"}),  # every part uses errors
    ("factorization/lyrics.py", "from ..method import modality", {"layers"}),
]


@pytest.mark.parametrize("module, statement, broken", WRONG_WAY, ids=[w[0] for w in WRONG_WAY])
def test_a_wrong_way_import_breaks_its_contract(tmp_path, module, statement, broken):
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "musiclime", ignore=shutil.ignore_patterns("__pycache__"))
    with open(src / "musiclime" / module, "a", encoding="utf-8") as f:
        f.write(f"\n{statement}  # wrong way, on purpose\n")
    result = lint_imports(src)
    assert result.returncode == 1, result.stdout + result.stderr
    names = {c["id"]: c["name"] for c in contracts()}
    reported = {cid for cid, name in names.items() if re.search(rf"{re.escape(name)} BROKEN", result.stdout)}
    assert reported == broken, result.stdout
    assert f"musiclime.{module[:-3].replace('/', '.')}" in result.stdout  # the report names the importer


WORKFLOW_FILES = sorted([ROOT / "Snakefile", *(ROOT / "workflow").rglob("*.smk"), *(ROOT / "workflow").rglob("*.py")])
#: What the Snakefile, rules and scripts may import of musiclime: stages, and the plumbing that runs them.
WORKFLOW_IMPORTS = {"musiclime.pipeline": {"stages"}, "musiclime.pipeline.snakemake_setup": None,
                    "musiclime.pipeline.worker_pool": {"start_pools"},
                    "musiclime.tracking.settings": {"refuse_sqlite_on_cluster"}}


def test_the_workflow_calls_the_library_only_through_stages():
    """One stage layer: every rule and script calls a function of ``musiclime.pipeline.stages``."""
    from musiclime.pipeline import stages

    called = set()
    for path in WORKFLOW_FILES:
        text = path.read_text(encoding="utf-8")
        for module, names in re.findall(r"^\s*from (musiclime[\w.]*) import ([\w, ]+)$", text, flags=re.M):
            allowed = WORKFLOW_IMPORTS.get(module, set())
            names = {n.strip() for n in names.split(",")}
            assert allowed is None or names <= allowed, f"{path.name} imports {sorted(names)} from {module}"
        assert not re.search(r"^\s*import musiclime", text, flags=re.M), path
        called |= set(re.findall(r"\bstages\.(\w+)\s*[(,]", text))
    helpers = {"load_factorization", "load_predict_fn"}  # used by stages, not by rules
    assert called == set(stages.__all__) - helpers, "rules call exactly the stage functions"
    for name in called:  # each resolves to a function defined in a module of pipeline/stages
        assert getattr(stages, name).__module__.startswith("musiclime.pipeline.stages."), name
