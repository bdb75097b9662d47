"""The ``musiclime`` command: thin fronts over the workflow and the library.

``musiclime explain``  run the workflow on songs, print each page's lead and path;
``musiclime sheet``    build a checked sample sheet from a folder or a dataset table;
``musiclime open``     serve a results folder on 127.0.0.1 and print its index's URL;
``musiclime provenance`` which explanations came from which code and weights.

A :class:`~musiclime.common.errors.MusicLimeError` ends a command with its message on stderr and exit
status 2, without a traceback.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Callable, List, Optional

import typer

from ..common.errors import ConfigError, MusicLimeError

app = typer.Typer(name="musiclime", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="MusicLIME: explain multimodal (audio + lyrics) music classifiers.")

#: Exit status of a command ended by a MusicLimeError.
ERROR_EXIT = 2


def friendly(command: Callable) -> Callable:
    """End ``command`` with a one-paragraph message and exit status :data:`ERROR_EXIT` on a MusicLimeError."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MusicLimeError as exc:
            typer.echo(f"musiclime {command.__name__.rstrip('_')}: error: {exc}", err=True)
            raise typer.Exit(ERROR_EXIT) from None

    return wrapper


def _labels(text: Optional[str]) -> Optional[dict[str, int]]:
    from ..common.sheet_table import parse_label_map

    return None if text is None else parse_label_map(text, "--labels")


@app.command(context_settings={"allow_interspersed_args": True})
@friendly
def explain(
    arguments: List[str] = typer.Argument(..., metavar="SONGS... [OVERRIDES...]",
                                          help="audio files, folders of songs (audio + same-named .txt lyrics), or "
                                               "one sample sheet; then Hydra overrides such as model=fusion or "
                                               "explain.num_samples=500"),
    lyrics: Optional[Path] = typer.Option(None, "--lyrics", help="lyrics file of the one song named"),
    no_lyrics: bool = typer.Option(False, "--no-lyrics", help="explain every song (audio files, folders) from "
                                                              "its audio alone: no lyrics, same-named .txt "
                                                              "files are ignored; each page says so"),
    label: Optional[int] = typer.Option(None, "--label", min=0, max=1,
                                        help="true label of the songs named: 0 = AI-Generated, 1 = Human-Composed"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="working folder: results/ and the run's files go here"),
    cores: int = typer.Option(2, "--cores", "-c", min=1, help="cores Snakemake may use"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show Snakemake's whole output"),
) -> None:
    """Explain songs: run the workflow on them and print each page's lead sentences and path."""
    from . import explain as run

    sources, overrides = run.split_arguments(arguments)
    out = out.expanduser().resolve()
    sheet, rows = run.sheet_for(sources, out, None if lyrics is None else str(lyrics), label, no_lyrics)
    if rows is not None:
        from ..common.song_checks import no_lyrics_note

        for song_id, notes in rows.notes.items():
            for note in notes:
                if note != no_lyrics_note():  # songs without lyrics: one warning names them all
                    typer.echo(f"note, song {song_id}: {note}", err=True)
    overrides = run.workflow_overrides(sheet, overrides, run.sheet_has_stems(sheet))
    command = run.snakemake_command(run.find_snakefile(), out, overrides, cores)
    typer.echo(f"explaining the songs of {sheet} in {out} (overrides: {' '.join(overrides)})", err=True)
    output = run.run_workflow(command, out / run.EXPLAIN_DIR / "snakemake.log", lambda s: typer.echo(s, err=True),
                              verbose)
    summary = run.sweep_summary_path(output, out)
    for line in run.format_results(run.read_results(summary, out), run.index_page(summary)):
        typer.echo(line)


@app.command()
@friendly
def sheet(
    source: Path = typer.Argument(..., help="a folder of songs (audio + same-named .txt lyrics; labels from "
                                            "sub-folder names) or a dataset table (CSV, TSV or Parquet)"),
    out: Path = typer.Option(Path("songs.tsv"), "--out", "-o", help="sample sheet to write (TSV)"),
    audio_col: Optional[str] = typer.Option(None, "--audio-col", help="table: column of the audio file paths"),
    lyrics_col: Optional[str] = typer.Option(None, "--lyrics-col", help="table: column of the lyrics (paths or text)"),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="table: column of the labels"),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="table: column of the song ids (default song_id; "
                                                               "absent: ids from the audio file names)"),
    stems_col: Optional[str] = typer.Option(None, "--stems-col", help="table: column of the stems folders"),
    lyrics_as: str = typer.Option("auto", "--lyrics-as", help="table: the lyrics column holds a path, text, or "
                                                              "auto (a path when it names a .txt or existing file)"),
    labels: Optional[str] = typer.Option(None, "--labels", help="label names to 0/1, e.g. real=1,fake=0 (table "
                                                                "cells or sub-folder names)"),
    base_dir: Optional[Path] = typer.Option(None, "--base-dir", help="table: folder its relative paths start from "
                                                                     "(default: the table's folder)"),
    lyrics_dir: Optional[Path] = typer.Option(None, "--lyrics-dir", help="table: where inline lyrics are written "
                                                                         "(default: lyrics/ beside the sheet)"),
    no_lyrics: bool = typer.Option(False, "--no-lyrics", help="every song without lyrics (an empty lyrics "
                                                              "cell), explained from its audio alone: a folder's "
                                                              ".txt files, a table's lyrics column are ignored"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="write the good rows when some are bad (else none)"),
) -> None:
    """Build a sample sheet from a folder or a dataset table, every row checked as the workflow checks it."""
    from .sheet_source import check_rows, folder_rows, table_source_rows, write_checked_sheet

    mapping = _labels(labels)
    columns = {"audio": audio_col, "lyrics": lyrics_col, "label": label_col, "song_id": id_col, "stems": stems_col}
    if source.is_dir():
        given = [f"--{k.replace('_', '-')}" for k, v in (("audio_col", audio_col), ("lyrics_col", lyrics_col),
                                                         ("label_col", label_col), ("id_col", id_col),
                                                         ("stems_col", stems_col), ("base_dir", base_dir)) if v]
        if given:
            raise ConfigError(f"{', '.join(given)} apply to a table; {source} is a folder")
        rows = folder_rows(source, mapping, no_lyrics)
    elif source.is_file():
        rows = table_source_rows(source, columns, lyrics_as=lyrics_as, labels=mapping, base_dir=base_dir,
                                 lyrics_dir=lyrics_dir if lyrics_dir is not None else out.parent / "lyrics",
                                 no_lyrics=no_lyrics)
    else:
        raise ConfigError(f"{source} does not exist (a folder of songs or a table is expected)")
    check_rows(rows)
    written = write_checked_sheet(rows, out, skip_bad)
    for problem in rows.problems:
        typer.echo(f"left out: {rows.describe(problem)}", err=True)
    songs = rows.songs
    counts = {label: sum(s.label == label for s in songs) for label in (0, 1, None)}
    without = sum(s.lyrics is None for s in songs)
    typer.echo(f"wrote {written}: {len(songs)} songs ({counts[1]} labelled 1 Human-Composed, {counts[0]} labelled "
               f"0 AI-Generated, {counts[None]} unlabelled)" + (f"; {without} without lyrics" if without else "")
               + (f"; {len({p.line for p in rows.problems})} bad rows left out" if rows.problems else ""))


@app.command("open")
@friendly
def open_(
    results: Path = typer.Argument(Path("results"), help="results folder (default: results)"),
    port: int = typer.Option(0, "--port", "-p", help="port on 127.0.0.1 (default: a free one)"),
) -> None:
    """Serve a results folder on 127.0.0.1 and print the URL of its newest index page; Ctrl-C stops."""
    from .serve import serve

    serve(results, port, echo=lambda s: typer.echo(s))


@app.command()
def provenance(folder: Path = typer.Argument(Path("results"), help="results folder (default: results)")) -> None:
    """Which explanations came from which code and model weights (as musiclime-provenance)."""
    from ..evidence.provenance import main

    raise typer.Exit(main([str(folder)]))


def main() -> None:
    """Entry point of the ``musiclime`` script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app(prog_name="musiclime")
