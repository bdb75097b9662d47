"""Running the real Snakemake workflow on tiny synthesized songs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from musiclime.common.audio import save_audio
from musiclime.common.sample_sheet import Song, write_sample_sheet

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"


def make_songs(root: Path, n_songs: int = 2, seconds: float = 5.0, rate: int = 22050) -> Path:
    """Write ``n_songs`` songs (noise stems, a mix, lyrics) and their sample sheet; return the sheet."""
    rng = np.random.default_rng(0)
    songs = []
    for i in range(n_songs):
        folder = root / f"song{i}"
        stems = {n: (0.1 * rng.standard_normal(int(rate * seconds))).astype(np.float32)
                 for n in ("vocals", "drums", "bass", "other")}
        for name, stem in stems.items():
            save_audio(folder / "stems" / f"{name}.flac", stem, rate)
        save_audio(folder / "mix.flac", sum(stems.values()), rate)
        (folder / "lyrics.txt").write_text(f"[Verse]\nfirst line {i}\nsecond line\n[Chorus]\nchorus line\n")
        songs.append(Song(f"song{i}", folder / "mix.flac", folder / "lyrics.txt", folder / "stems", i % 2))
    return write_sample_sheet(root / "samples.tsv", songs)


def tiny_overrides(sheet: Path, *extra: str) -> list[str]:
    """Overrides for a fast run: user sheet, the example model, 50 samples, 4 segments."""
    return ["data=sheet", f"data.sample_sheet={sheet}", "model=custom_example", "explain.num_samples=50",
            "explain.temporal_segments=4", *extra]


def snakemake(workdir: Path, overrides: list[str] = (), experiment: str | None = None, *args: str,
              cores: int = 2, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``snakemake`` in ``workdir`` with Hydra overrides; returns the finished process (``.pid`` set)."""
    config = []
    if overrides:
        config.append("overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]")
    if experiment:
        config.append(f"experiment={experiment}")
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir), "--cores", str(cores),
               *args]
    if config:
        command += ["--config", *config]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    result.pid = process.pid
    return result


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from Snakemake's "Job stats" table (empty when nothing ran)."""
    match = re.search(r"Job stats:\njob\s+count\n[-\s]+\n(.*?)\ntotal", output, re.S)
    if not match:
        return {}
    return {rule: int(count) for rule, count in re.findall(r"^(\S+)\s+(\d+)$", match.group(1), re.M)}


def explanation_weights(workdir: Path) -> dict[str, dict]:
    """Per explanation file (relative path): its features' weights and the fit's intercept and score."""
    found = {}
    for path in sorted((workdir / "results").glob("songs/**/explanation.json")):
        data = json.loads(path.read_text())
        found[str(path.relative_to(workdir))] = {key: data[key] for key in data if key in (
            "explanations", "features")}
    return found
