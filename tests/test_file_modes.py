"""Artifacts end with the mode a plain open() gives under the umask, not a temporary file's owner-only mode:
a lab's shared results folder is readable by its group (umask 002, 022) and by nobody else under 077."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .workflow_helpers import SNAKEFILE, make_songs, tiny_overrides

WRITERS = """
import sys
import numpy as np
from pathlib import Path
from musiclime.common.artifacts import save_arrays, write_config
from musiclime.common.atomic_io import write_json, write_text
from musiclime.common.audio import save_audio
from musiclime.models.fusion import build_tiny_encoder
root = Path(sys.argv[1])
write_text(root / "a.txt", "text")
write_json(root / "b.json", {"x": 1})
save_arrays(root / "c.npz", {"song_id": "s"}, values=np.zeros(3))
write_config(root / "d.yaml", {"k": 1})
save_audio(root / "e.wav", np.zeros(800, dtype=np.float32), 8000)
build_tiny_encoder("bert", root / "encoder")
"""


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_every_writer_gives_the_umask_mode(tmp_path, umask):
    subprocess.run([sys.executable, "-c", WRITERS, str(tmp_path)], check=True, preexec_fn=lambda: os.umask(umask),
                   capture_output=True)
    found = modes(tmp_path)
    assert len(found) > 6
    for name, mode in found.items():
        expected = (0o777 if (tmp_path / name).is_dir() else 0o666) & ~umask
        assert mode == expected, f"{name}: {oct(mode)} under umask {oct(umask)}, expected {oct(expected)}"


@pytest.mark.slow
def test_a_workflow_run_under_umask_022_is_readable_by_everyone(tmp_path):
    sheet = make_songs(tmp_path / "songs", n_songs=2, seconds=3.0)
    overrides = tiny_overrides(sheet, "evaluation.enabled=false")
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(tmp_path), "--cores", "2",
               "--config", "overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022),
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    files = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert len(files) > 20
    unreadable = [str(p) for p in files if stat.S_IMODE(p.stat().st_mode) & 0o044 != 0o044]
    assert not unreadable, f"{len(unreadable)} of {len(files)} files not readable by group and others: {unreadable[:5]}"
