"""The README fits on a screen or two, its set-up lines run as written, and the documentation site builds.

The README keeps the two set-up lines (the demo, the tests) that ``.ci/run`` and users run verbatim, and
links only to files that exist; the rest of the documentation is the MkDocs site under ``docs/``, which
must build with ``mkdocs build --strict`` (a broken link or anchor is a warning, hence a failure).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DEMO_LINE = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/snakemake --cores 2"
TEST_LINE = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
MAX_README_LINES = 160
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def readme_lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def test_readme_fits_on_a_screen_or_two():
    assert len(readme_lines()) <= MAX_README_LINES, (
        f"README.md has {len(readme_lines())} lines (at most {MAX_README_LINES}): move detail to a page under docs/")


@pytest.mark.parametrize("line", [DEMO_LINE, TEST_LINE], ids=["demo", "tests"])
def test_readme_setup_lines_are_verbatim(line):
    assert line in readme_lines(), f"README.md lost its set-up line, which must stay exactly runnable:\n{line}"


def test_ci_runs_the_readme_test_line():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    # .ci/run adds pip's -q; otherwise the line is the README's
    assert TEST_LINE.replace("pip install -e", "pip install -q -e") in ci or TEST_LINE in ci


def relative_links(text: str) -> list[str]:
    links = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http:, mailto:, ... and anchors within the README
        links.append(target)
    return links


def test_readme_relative_links_resolve():
    links = relative_links(README.read_text(encoding="utf-8"))
    assert links, "the README links to the documentation pages"
    missing = [target for target in links if not (REPO / target.split("#", 1)[0]).is_file()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_links_every_docs_page_it_needs():
    linked = {Path(t.split("#", 1)[0]).name for t in relative_links(README.read_text(encoding="utf-8"))}
    for page in ("getting-started.md", "cli.md", "configuration.md", "reports.md", "detector.md", "slurm.md",
                 "song-page.png"):
        assert page in linked, f"README.md does not link {page}"


def mkdocs_command() -> list[str]:
    """``python -m mkdocs`` of this interpreter; skipped without mkdocs, except under CI (``CI`` set), failed."""
    try:
        import mkdocs  # noqa: F401
        import material  # noqa: F401
    except ImportError as exc:
        reason = f"mkdocs or mkdocs-material is not installed ({exc}): pip install -e '.[docs]'"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must build the documentation site: {reason}")
        pytest.skip(reason)
    return [sys.executable, "-m", "mkdocs"]


@pytest.mark.slow
def test_docs_site_builds_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([*mkdocs_command(), "build", "--strict", "--config-file", str(REPO / "mkdocs.yml"),
                             "--site-dir", str(site)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    for page in ("index.html", "cli/index.html", "configuration/index.html", "reports/index.html",
                 "benchmarks/index.html", "images/song-page.png", "figures/samplers.png"):
        assert (site / page).is_file(), f"the site lacks {page}"
    configuration = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "num_samples" in configuration and "--8&lt;--" not in configuration, "conf/ files are not embedded"
    benchmarks = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "Randomization check" in benchmarks, "benchmarks/README.md is not embedded"
