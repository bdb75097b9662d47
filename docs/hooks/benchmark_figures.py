"""MkDocs hook: serve benchmarks/figures/ beside docs/benchmarks.md.

docs/benchmarks.md embeds benchmarks/README.md (pymdownx.snippets), whose pictures are relative to
benchmarks/ (``figures/samplers.png``). This adds each file of benchmarks/figures/ to the site as
``figures/<name>``, so those links resolve on the page and ``mkdocs build --strict`` checks them.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

FIGURES = Path(__file__).resolve().parents[2] / "benchmarks" / "figures"


def on_files(files: Files, config) -> Files:
    for path in sorted(FIGURES.glob("*.png")):
        files.append(File.generated(config, f"figures/{path.name}", abs_src_path=str(path)))
    return files
