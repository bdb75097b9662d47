"""The paper's global figures (per-class heatmap and bars, class versus class) and the point page showing them."""

from __future__ import annotations

import logging

import pytest

from musiclime.evidence.global_figures import comparison_classes, draw_class_comparison, draw_class_heatmaps
from musiclime.evidence.paper_aggregation import paper_importance
from musiclime.pipeline.stages.pages import point_pages
from musiclime.pipeline.stages.reports import aggregate_point

from .evidence_helpers import explain_song, separate_song, write_song
from .test_aggregation import PAPER_SONGS, explanation

NAMES = {0: "AI-Generated", 1: "Human-Composed"}
COMPONENTS = [f"{s}_T{t}" for t in range(2) for s in ("drums", "bass")]


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read from its header after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_figures_of_two_classes(tmp_path):
    rows = paper_importance([explanation(label, weights) for label, weights in PAPER_SONGS])
    classes = draw_class_heatmaps(rows, tmp_path / "classes.png", NAMES, components=COMPONENTS)
    comparison = draw_class_comparison(rows, tmp_path / "comparison.png", NAMES, components=COMPONENTS)
    width, height = png_size(classes)
    assert width >= 1000 and height >= 400 and classes.stat().st_size > 20_000  # two rows: heatmap + bars each
    width, height = png_size(comparison)
    assert width >= 1000 and height >= 400 and comparison.stat().st_size > 20_000


def test_class_without_songs_is_named_in_the_figures(tmp_path, caplog):
    rows = paper_importance([explanation(1, {0: 0.3, 3: 0.2}), explanation(1, {1: 0.1})])
    assert comparison_classes(NAMES, {1: 2}) == (0, 1)
    with caplog.at_level(logging.WARNING, logger="musiclime.evidence.global_figures"):
        classes = draw_class_heatmaps(rows, tmp_path / "classes.png", NAMES, components=COMPONENTS)
        comparison = draw_class_comparison(rows, tmp_path / "comparison.png", NAMES, components=COMPONENTS)
    assert "no song was explained as class 0 (AI-Generated)" in caplog.text
    assert "no song was explained as AI-Generated" in caplog.text
    assert png_size(classes)[1] >= 400 and png_size(comparison)[0] >= 1000
    single = draw_class_comparison(rows, tmp_path / "single.png", {1: "Human-Composed"})
    assert png_size(single)[0] > 0  # one class only: a picture saying a comparison needs two


@pytest.fixture(scope="module")
def point(tmp_path_factory):
    """Two glass-box explanations, their global importance by both methods, and the point's pages."""
    root = tmp_path_factory.mktemp("point")
    paths = []
    for i in range(2):
        song = write_song(root / "songs", f"s{i}", seed=i)
        stems = separate_song(song, root / f"s{i}")
        paths.append(explain_song(song, stems, root / f"s{i}" / "explanation.json", num_samples=150))
    files = {}
    for method in ("paper", "gale"):
        stem = root / "results" / f"importance-{method}"
        files[method] = aggregate_point(paths, f"{stem}.csv", f"{stem}.png", method, f"{stem}-classes.png",
                                        f"{stem}-comparison.png")
    return root, paths, files


def test_aggregate_point_writes_the_paper_figures(point):
    _, _, files = point
    for method, written in files.items():
        table, overview, classes, comparison = written
        assert table.read_text().splitlines()[1].startswith(f"{method},")
        assert min(png_size(overview)) >= 100
        for picture in (classes, comparison):
            width, height = png_size(picture)
            assert width >= 1000 and height >= 300, picture


def test_point_page_shows_the_global_figures(point):
    root, paths, files = point
    results = root / "results"
    aggregation = [str(p) for p in (files["paper"][2], files["paper"][3], files["paper"][1], files["paper"][0])]
    index = point_pages(paths, [], [], [], {"id": "p0", "overrides": [], "config": {
        "report": {"num_features": 10}, "experiment_name": "t"}}, results / "songs", results / "report.html",
        aggregation)
    html = index.read_text()
    for name in ("importance-paper-classes.png", "importance-paper-comparison.png", "importance-paper.png"):
        assert f'<img src="{name}"' in html
    assert 'href="importance-paper.csv"' in html and "(paper method)" in html
    assert html.index("importance-paper-classes.png") < html.index('src="importance-paper.png"')
