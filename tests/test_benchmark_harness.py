"""The benchmark harness's quick mode (the CI mode) runs end to end and writes its JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_harness_writes_every_section(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "harness.py"), "--quick", "--json", str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| composition | compose" in run.stdout and "| section | benchmark |" in run.stdout
    report = json.loads(out.read_text())
    assert report["mode"] == "quick" and report["hardware"]["cpu_cores"] >= 1
    sections = report["sections"]
    assert set(sections) == {"composition", "cpu_model", "separation", "memory", "fit", "gpu"}
    case = sections["composition"]["cases"][0]
    assert case["compose_gb_per_s"] > 0 and case["copy_gb_per_s"] > 0 and 0 < case["compose_vs_copy"]
    assert sections["cpu_model"]["cases"][0]["items_per_s"] > 0
    assert sections["separation"]["max_stem_difference"] <= 1e-4  # batched = one chunk at a time
    assert all(p["peak_rss_mb"] > 0 for p in sections["memory"]["points"])
    assert all(p["fit_s"] > 0 for p in sections["fit"]["points"])
    gpu = sections["gpu"]
    if "skipped" in gpu:
        assert "CUDA" in gpu["skipped"] and "gpu | skipped: CUDA not available" in run.stdout
    else:
        assert gpu["predict"]["max_probability_difference"] <= 1e-5
