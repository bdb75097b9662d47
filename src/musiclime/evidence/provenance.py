"""Which explanations came from which code and weights: a table for a results folder.

``musiclime-provenance results/`` (or ``python -m musiclime.evidence.provenance results/``) reads
every ``explanation.json`` under the folder and prints one row per explanation (path, song, code
commit, weights hash, audio hash) and one summary line per (code, weights) group, e.g.
``12 explanations from commit 3fa2c1d0e9b8 (clean), weights 9f2e4b7a1c03``. It reads the
``metadata.provenance`` block the workflow writes (:mod:`musiclime.common.provenance`); nothing is
recomputed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..common.errors import MusicLimeError
from ..common.provenance import short_code

#: File name of the workflow's explanations.
EXPLANATION_FILE = "explanation.json"
#: Hex digits shown of a SHA-256.
SHORT_HASH = 12
COLUMNS = ("explanation", "song", "code", "weights", "audio")


@dataclass(frozen=True)
class ProvenanceRow:
    """One explanation's provenance as the table shows it (short hashes; ``-`` when not recorded)."""

    explanation: str
    song: str
    code: str
    weights: str
    audio: str
    packages: tuple[tuple[str, str], ...]

    def cells(self) -> tuple[str, ...]:
        return self.explanation, self.song, self.code, self.weights, self.audio


def find_explanations(folder: str | Path) -> list[Path]:
    """Every ``explanation.json`` under ``folder``, sorted.

    Raises:
        MusicLimeError: the folder does not exist or holds no explanation (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MusicLimeError(f"results folder {folder} does not exist or is not a folder")
    found = sorted(folder.rglob(EXPLANATION_FILE))
    if not found:
        raise MusicLimeError(f"no {EXPLANATION_FILE} under {folder}: run the workflow first "
                             f"(snakemake --cores 2) or name the folder that holds its results")
    return found


def read_row(path: Path, folder: Path) -> ProvenanceRow:
    """The provenance row of one explanation file.

    Raises:
        MusicLimeError: the file is not JSON or not an explanation (the message names it).
    """
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MusicLimeError(f"{path} is not a MusicLIME explanation JSON: {exc!r}") from exc
    provenance = metadata.get("provenance") or {}
    inputs = provenance.get("inputs") or {}
    packages = tuple(sorted((name, str(version)) for name, version in (provenance.get("packages") or {}).items()))
    return ProvenanceRow(
        explanation=str(path.relative_to(folder)),
        song=str((metadata.get("song_info") or {}).get("song_id", "-")),
        code=short_code(provenance.get("code")) if provenance else "not recorded",
        weights=_short((provenance.get("weights") or {}).get("sha256")),
        audio=_short((inputs.get("audio") or {}).get("sha256")),
        packages=packages)


def provenance_rows(folder: str | Path) -> list[ProvenanceRow]:
    """The rows of every explanation under ``folder`` (see :func:`find_explanations`)."""
    folder = Path(folder)
    return [read_row(path, folder) for path in find_explanations(folder)]


def summary_lines(rows: Sequence[ProvenanceRow]) -> list[str]:
    """One line per (code, weights) group, largest first, then the package versions."""
    groups = Counter((row.code, row.weights) for row in rows)
    lines = []
    for (code, weights), count in sorted(groups.items(), key=lambda item: (-item[1], item[0])):
        noun = "explanation" if count == 1 else "explanations"
        lines.append(f"{count} {noun} from {_describe_code(code)}, weights {weights}")
    package_sets = Counter(row.packages for row in rows)
    for packages, count in sorted(package_sets.items(), key=lambda item: -item[1]):
        listed = ", ".join(f"{name} {version}" for name, version in packages) or "not recorded"
        lines.append(f"packages of {count}: {listed}")
    return lines


def format_table(rows: Sequence[ProvenanceRow]) -> str:
    """The rows as a plain-text table with a header, columns padded to their widest cell."""
    table = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip() for cells in table)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the provenance table and summary of a results folder; 2 on an error."""
    parser = argparse.ArgumentParser(prog="musiclime-provenance",
                                     description="List which explanations came from which code and model weights.")
    parser.add_argument("folder", nargs="?", default="results", help="results folder (default: results)")
    args = parser.parse_args(argv)
    try:
        rows = provenance_rows(args.folder)
    except MusicLimeError as exc:
        sys.stderr.write(f"musiclime-provenance: error: {exc}\n")
        return 2
    sys.stdout.write(format_table(rows) + "\n\n" + "\n".join(summary_lines(rows)) + "\n")
    return 0


def _short(sha: str | None) -> str:
    return sha[:SHORT_HASH] if sha else "-"


def _describe_code(code: str) -> str:
    if code in ("unknown", "not recorded"):
        return f"code {code}"
    if code.startswith("v"):
        return f"package version {code[1:]} (not a git checkout)"
    commit, _, dirty = code.partition("+")
    return f"commit {commit} ({'dirty' if dirty else 'clean'})"


if __name__ == "__main__":
    sys.exit(main())
