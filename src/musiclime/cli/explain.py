"""``musiclime explain``: run the workflow on some songs and say where their pages are.

The songs (audio files, folders, or a sample sheet) become a sheet under the output folder
(:mod:`.sheet_source`), Snakemake runs the installed Snakefile there as a subprocess with Hydra
overrides (``data=sheet``, the sheet, ``separation=time_only`` unless the sheet has stems or the
user chose a separation), and the results are read back: per sweep point and song, the page
(``results/points/<point>/songs/<song>.html``) and its lead sentences, computed from the song's
``explanation.json`` as the page computes them (:func:`musiclime.evidence.lead.lead_sentences`).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import yaml

from ..common.errors import ConfigError, MusicLimeError
from ..common.sample_sheet import read_sample_sheet_rows
from ..common.sheet_table import TABLE_SUFFIXES
from .sheet_source import NO_LYRICS_OPTION, SheetRows, audio_rows, check_rows, folder_rows, write_checked_sheet

log = logging.getLogger(__name__)

#: Environment variable naming the Snakefile to run (default: the one of the repository the package is in).
SNAKEFILE_ENV = "MUSICLIME_SNAKEFILE"
#: Where ``explain`` writes the sheet it builds and Snakemake's full output, under the output folder.
EXPLAIN_DIR = Path(".musiclime") / "explain"
#: Lines of Snakemake's output shown when it fails.
TAIL_LINES = 40
STEP = re.compile(r"^(\d+) of (\d+) steps \((\d+)%\) done")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)")
SWEEP_SUMMARY = re.compile(r"^\s*sweep summary:\s*(\S+)")


class WorkflowFailed(MusicLimeError):
    """Snakemake exited non-zero; the message holds the tail of its output and the full log's path."""


@dataclass(frozen=True)
class SongResult:
    """One song's explanation at one sweep point: its page and lead sentences."""

    point: str
    song_id: str
    page: Path
    lead: list[str]


def find_snakefile() -> Path:
    """The workflow's Snakefile: ``$MUSICLIME_SNAKEFILE``, else the one beside the package's ``src/``.

    Raises:
        ConfigError: none found (an installed, non-editable package carries no Snakefile).
    """
    import musiclime

    if os.environ.get(SNAKEFILE_ENV):
        candidates = [Path(os.environ[SNAKEFILE_ENV])]
    else:
        candidates = [Path(musiclime.__file__).resolve().parents[2] / "Snakefile"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"cannot find the workflow's Snakefile (looked at {', '.join(map(str, candidates))}); install "
                      f"musiclime from its repository (pip install -e .) or set {SNAKEFILE_ENV}")


def split_arguments(arguments: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(sources, overrides)``: an existing path is a source; ``key=value``, ``+key=value`` and ``~key`` are
    Hydra overrides; anything else is a source (reported missing later)."""
    sources, overrides = [], []
    for argument in arguments:
        if Path(argument).exists():
            sources.append(argument)
        elif "=" in argument or argument.startswith("~"):
            overrides.append(argument)
        else:
            sources.append(argument)
    return sources, overrides


def is_sheet(path: Path) -> bool:
    """Is ``path`` a sample sheet or dataset table (rather than audio)?"""
    return path.is_file() and path.suffix.lower() in TABLE_SUFFIXES


def sheet_for(sources: Sequence[str], out_dir: Path, lyrics: str | None = None,
              label: int | None = None, no_lyrics: bool = False) -> tuple[Path, SheetRows | None]:
    """The sheet to explain: a sheet named as the only source, or one built from audio files and folders
    (checked, written to ``out_dir/.musiclime/explain/songs.tsv``); and the rows built, if any.
    ``no_lyrics``: the songs built get no lyrics (same-named ``.txt`` files are ignored), each is
    explained from its audio alone.

    Raises:
        ConfigError: no source, a missing source, a sheet among other sources, ``no_lyrics`` with a
            sheet or with ``lyrics``, or a bad row (listed).
    """
    if not sources:
        raise ConfigError("name a song (an audio file), a folder of songs, or a sample sheet to explain")
    paths = [Path(s).expanduser() for s in sources]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"not found: {', '.join(missing)}")
    sheets = [p for p in paths if is_sheet(p)]
    if sheets:
        if len(paths) > 1:
            raise ConfigError(f"a sample sheet ({sheets[0]}) is explained alone; name it without other sources")
        if lyrics is not None or label is not None:
            raise ConfigError("--lyrics and --label apply to audio files; a sample sheet names its own")
        if no_lyrics:
            raise ConfigError(f"{NO_LYRICS_OPTION} applies to audio files and folders; a sample sheet names its own "
                              "lyrics (leave a song's lyrics cell empty to explain it from its audio alone, or build "
                              f"a sheet without lyrics from a table with `musiclime sheet TABLE {NO_LYRICS_OPTION}`)")
        return sheets[0].resolve(), None
    rows = SheetRows()
    folders = [p for p in paths if p.is_dir()]
    if no_lyrics and lyrics is not None:
        raise ConfigError(f"--lyrics names a song's lyrics and {NO_LYRICS_OPTION} says there are none; "
                          "pass one of them")
    if folders and (lyrics is not None or label is not None):
        raise ConfigError("--lyrics and --label apply to audio files, not to folders (a folder's songs take their "
                          "lyrics from same-named .txt files, their labels from sub-folder names)")
    files = [p for p in paths if p.is_file()]
    for part in [folder_rows(f, no_lyrics=no_lyrics) for f in folders] + (
            [audio_rows(files, lyrics, label, no_lyrics)] if files else []):
        offset = len(rows.origins)
        for line, song in part.rows:
            rows.rows.append((line + offset, song))
        rows.problems += [type(p)(p.song_id, p.line + offset, p.reason) for p in part.problems]
        rows.origins.update({line + offset: origin for line, origin in part.origins.items()})
    ids = [song.song_id for _, song in rows.rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"songs named alike in different sources: {', '.join(repeated)}; rename the files "
                          "or build one sheet with `musiclime sheet`")
    check_rows(rows)
    sheet = write_checked_sheet(rows, (out_dir / EXPLAIN_DIR / "songs.tsv").resolve())
    return sheet, rows


def sheet_has_stems(sheet: Path) -> bool:
    """Does every row of a plain TSV sheet name a stems folder (then the default ``separation=stems`` fits)?"""
    if sheet.suffix.lower() != ".tsv":
        return False
    try:
        rows, _ = read_sample_sheet_rows(sheet)
    except MusicLimeError:
        return False
    return bool(rows) and all(song.stems is not None for _, song in rows)


def workflow_overrides(sheet: Path, overrides: Sequence[str], stems: bool) -> list[str]:
    """The Hydra overrides of the run: the sheet as ``data``, ``separation=time_only`` unless the sheet
    has stems or an override chooses the separation, then the user's own (which win)."""
    chosen = {o.lstrip("+~").split("=", 1)[0] for o in overrides}
    base = ["data=sheet", f"data.sample_sheet={quote_value(str(sheet))}"]
    if not stems and not chosen & {"separation", "separation.backend"}:
        base.append("separation=time_only")
    return base + list(overrides)


def quote_value(value: str) -> str:
    """``value`` as a Hydra override value: quoted when it holds characters Hydra's grammar would parse."""
    if re.fullmatch(r"[A-Za-z0-9_./~+:@-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def snakemake_command(snakefile: Path, out_dir: Path, overrides: Sequence[str], cores: int,
                      extra: Sequence[str] = ()) -> list[str]:
    """``python -m snakemake`` over ``snakefile`` in ``out_dir`` with ``overrides`` (a YAML list in ``--config``)."""
    return [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(out_dir), "--cores", str(cores),
            *extra, "--config", "overrides=" + json.dumps(list(overrides))]


def run_workflow(command: Sequence[str], log_file: Path, echo: Callable[[str], None], verbose: bool = False) -> str:
    """Run Snakemake, writing its output to ``log_file`` and echoing progress (every line when ``verbose``,
    else one line per finished step); return the output.

    Raises:
        WorkflowFailed: Snakemake exited non-zero (the message holds the tail of its output).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    rule = None
    with open(log_file, "w", encoding="utf-8") as handle, subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        try:
            for line in process.stdout:
                handle.write(line)
                line = line.rstrip("\n")
                lines.append(line)
                if verbose:
                    echo(line)
                    continue
                if match := FINISHED.match(line.strip()):
                    rule = match.group(1)
                elif match := STEP.match(line.strip()):
                    echo(f"  [{match.group(1)}/{match.group(2)}] {rule or 'step'} done")
            process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            raise
    if process.returncode != 0:
        tail = "\n".join(lines[-TAIL_LINES:])
        raise WorkflowFailed(f"the workflow failed (snakemake exit {process.returncode}); the end of its output:\n"
                             f"{tail}\nfull output: {log_file}")
    return "\n".join(lines)


def sweep_summary_path(output: str, out_dir: Path) -> Path:
    """The sweep summary the run wrote: named in Snakemake's closing lines, else the newest under ``results/``.

    Raises:
        MusicLimeError: none found.
    """
    for line in reversed(output.splitlines()):
        if match := SWEEP_SUMMARY.match(line):
            path = Path(match.group(1))
            path = path if path.is_absolute() else out_dir / path
            if path.is_file():
                return path
    found = sorted((out_dir / "results").glob("sweeps/*/summary.tsv"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise MusicLimeError(f"the workflow finished but wrote no sweep summary under {out_dir / 'results'}")
    return found[-1]


def read_results(sweep_summary: Path, out_dir: Path) -> list[SongResult]:
    """Per point and song of a sweep summary: the song's page and lead sentences (``[]`` when its page or
    explanation is missing, e.g. ``report.html=false``)."""
    results_dir = sweep_summary.parents[2]
    with open(sweep_summary, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    explanations: dict[str, dict[str, str]] = {}
    found = []
    for row in rows:
        point, song = row["point"], row["song_id"]
        point_dir = results_dir / "points" / point
        if point not in explanations:
            explanations[point] = point_explanations(point_dir)
        explanation = explanations[point].get(song)
        explanation_path = None if explanation is None else (Path(explanation) if Path(explanation).is_absolute()
                                                             else out_dir / explanation)
        page = point_dir / "songs" / f"{song}.html"
        lead = lead_of(explanation_path, num_features(point_dir)) if explanation_path else []
        found.append(SongResult(point, song, page, lead))
    return found


def point_explanations(point_dir: Path) -> dict[str, str]:
    """``{song_id: explanation path}`` from a point's ``summary.tsv``."""
    summary = point_dir / "summary.tsv"
    if not summary.is_file():
        return {}
    with open(summary, newline="", encoding="utf-8") as handle:
        return {row["song_id"]: row.get("explanation", "") for row in csv.DictReader(handle, delimiter="\t")
                if row.get("explanation")}


def num_features(point_dir: Path) -> int:
    """The point's ``report.num_features`` (its ``config.yaml``), 10 when not recorded."""
    try:
        config = yaml.safe_load((point_dir / "config.yaml").read_text(encoding="utf-8")) or {}
        return int(config.get("report", {}).get("num_features", 10))
    except (OSError, ValueError, AttributeError, yaml.YAMLError):
        return 10


def lead_of(explanation_json: Path, top_n: int = 10) -> list[str]:
    """The lead sentences of the song page of ``explanation_json`` (empty when it cannot be read)."""
    from ..evidence.lead import lead_sentences
    from ..evidence.rankings import modality_rankings
    from ..method.explanation import load_explanation
    from ..method.explanation_views import explained_label

    try:
        explanation = load_explanation(explanation_json)
    except (OSError, ValueError, KeyError, MusicLimeError) as exc:
        log.warning("cannot read %s: %s", explanation_json, exc)
        return []
    label = explained_label(explanation)
    return lead_sentences(explanation, label, modality_rankings(explanation, label, top_n))


def index_page(sweep_summary: Path) -> Path | None:
    """The sweep's index page, when written."""
    index = sweep_summary.with_name("index.html")
    return index if index.is_file() else None


def format_results(results: Iterable[SongResult], index: Path | None) -> list[str]:
    """The lines ``explain`` ends with: per song its lead, then its page; the index page last."""
    results = list(results)
    points = {r.point for r in results}
    lines = []
    for result in results:
        name = result.song_id if len(points) == 1 else f"{result.song_id} (point {result.point})"
        lines.append(f"{name}: {' '.join(result.lead) if result.lead else '(no explanation found)'}")
        lines.append(f"  page: {result.page if result.page.is_file() else '(not written: report.html=false?)'}")
    if index is not None:
        lines.append(f"index: {index}")
    return lines
