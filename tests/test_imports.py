"""A stage pays only for what it uses: importing the package or a cheap stage pulls no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "lime", "scipy.signal", "mlflow", "matplotlib", "openunmix")


def loaded_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("statement, allowed", [
    ("import musiclime", ()),
    ("from musiclime.pipeline import stages", ()),
    ("import musiclime.pipeline.snakemake_setup", ()),  # what the Snakefile imports to plan a run
    ("from musiclime.pipeline.worker_pool import start_pools\n"  # ... and what workflow/rules/common.smk imports
     "from musiclime.tracking.settings import refuse_sqlite_on_cluster", ()),
    ("from musiclime.pipeline.stages import fitting", ()),  # lime and scikit-learn come with the first fit
    ("from musiclime.pipeline.stages import prediction", ()),  # torch comes with the model
    ("from musiclime.pipeline.stages import separation", ()),
    ("from musiclime.pipeline.stages import demo_inputs", ()),  # synthesizing songs never imports torch
])
def test_importing_a_stage_pulls_no_heavy_library(statement, allowed):
    loaded = loaded_after(statement)
    heavy = {name for name in HEAVY if name in loaded} - set(allowed)
    assert not heavy, f"{statement!r} imported {sorted(heavy)}"


def test_public_names_still_resolve():
    loaded = loaded_after("from musiclime import MusicLIMEExplainer, StemFactorization, load_audio\n"
                          "import musiclime\nassert 'MusicLIMEExplainer' in dir(musiclime)")
    assert "musiclime.method.explainer" in loaded
