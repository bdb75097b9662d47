"""Song pages and the index, rendered from a tiny real run and opened in real headless Chromium."""

from __future__ import annotations

import html
import io
import json
import re

import numpy as np
import pytest

from musiclime.evidence.pages import relative_href, weight_color
from musiclime.evidence.trust import verdicts
from musiclime.pipeline.stages.media import draw_song_pictures, write_listenable
from musiclime.pipeline.stages.pages import write_index, write_song_page

from .chromium import Chromium, require_chromium
from .evidence_helpers import LINE_PLANT, explain_song, separate_song, write_song

MARKUP_LINE = next(line for line in LINE_PLANT if "<b>" in line)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Two songs of one sweep point: pictures, listenable WAVs, pages and the index under ``results/``."""
    root = tmp_path_factory.mktemp("run")
    results = root / "results"
    songs = []
    for i, song_id in enumerate(["song <i>0</i>", "song&1"]):
        song = write_song(root / "songs", f"s{i}", seed=i)
        song["song_id"] = song_id
        folder = results / "points" / "p0" / f"s{i}"
        stems = separate_song(song, folder)
        explanation = explain_song(song, stems, folder / "explanation.json", num_samples=200)
        pictures = draw_song_pictures(explanation, folder / "heatmap.png", folder / "bars.png", folder / "lyrics.png")
        top, removed, mix = write_listenable(explanation, stems, 3, folder / "top.wav", folder / "removed.wav",
                                             folder / "mix.wav")
        page = write_song_page(explanation, folder / "page.html", pictures, {"mix": mix, "top": top, "removed": removed},
                               point="p0", overrides=["explain.kernel_width=<5>"], index_html=results / "index.html")
        songs.append({"explanation": explanation, "page": page})
    index = write_index([{"id": "p0", "overrides": ["explain.kernel_width=<5>"], "songs": songs}],
                        results / "index.html", title="demo <script>")
    return {"results": results, "index": index, "pages": [s["page"] for s in songs]}


def test_data_text_is_escaped_in_every_page(report):
    for page in [report["index"], *report["pages"]]:
        text = page.read_text(encoding="utf-8")
        assert "<script>" not in text and "<i>0</i>" not in text and "kernel_width=<5>" not in text
    for page in report["pages"]:
        text = page.read_text(encoding="utf-8")
        assert "<b>markup</b>" not in text
        assert "&lt;b&gt;markup&lt;/b&gt; &amp;" in text and MARKUP_LINE in html.unescape(text)
    assert "song &lt;i&gt;0&lt;/i&gt;" in report["index"].read_text(encoding="utf-8")


def test_links_are_relative_and_survive_copying(report, tmp_path):
    import shutil

    for page in [report["index"], *report["pages"]]:
        links = re.findall(r'(?:src|href)="([^"]+)"', page.read_text(encoding="utf-8"))
        assert links and not [link for link in links if link.startswith("/") or "://" in link]
    copied = tmp_path / "elsewhere"
    shutil.copytree(report["results"], copied)
    for page in [copied / "index.html", *copied.glob("points/p0/*/page.html")]:
        folder = page.parent
        for link in re.findall(r'(?:src|href)="([^"]+)"', page.read_text(encoding="utf-8")):
            from urllib.parse import unquote
            assert (folder / unquote(link)).is_file(), (page, link)


def test_relative_href_quotes_path_segments(tmp_path):
    assert relative_href(tmp_path / "a b" / "x#1.png", tmp_path / "page.html") == "a%20b/x%231.png"
    assert weight_color(0.0, 1.0) == "transparent" and weight_color(0.5, 1.0).startswith("rgba(214")


def test_pages_render_in_headless_chromium(report, tmp_path):
    from matplotlib.image import imread

    require_chromium()
    browser = Chromium(tmp_path / "profile")
    try:
        visits = {page: browser.visit(page) for page in [report["index"], *report["pages"]]}
    finally:
        browser.close()
    for page, visit in visits.items():
        assert visit.errors == [], (page, visit.errors)
        assert visit.broken_images == [] and visit.broken_audio == [], page
        (tmp_path / f"{page.parent.name}.png").write_bytes(visit.screenshot)
        pixels = imread(io.BytesIO(visit.screenshot), format="png")[..., :3]
        non_white = np.mean(np.any(pixels < 0.95, axis=-1))
        assert non_white > 0.02, f"{page} renders (almost) blank: {non_white:.3%} non-white pixels"
    for page in report["pages"]:
        visit = visits[page]
        assert visit.n_images == 3 and visit.n_audio == 3
        assert MARKUP_LINE in visit.text  # the markup shows as text, not as bold
    assert "song <i>0</i>" in visits[report["index"]].text and "demo <script>" in visits[report["index"]].text


def test_song_page_shows_what_the_explanation_cost(report):
    text = html.unescape(report["pages"][0].read_text(encoding="utf-8"))
    meta = json.loads((report["pages"][0].parent / "explanation.json").read_text())["metadata"]
    assert meta["compositions"] == 200  # random masks: every row its own waveform
    assert re.search(r"waveforms composed</th><td class=\"num\">200<", text)
    assert "model time (s, composing and predicting)" in text


def test_verdicts_sit_beside_the_numbers(report, tmp_path):
    """The song page says, for each check, whether it passes; the index sums the verdicts up per point."""
    song_dir = report["pages"][0].parent
    metrics = {"jaccard_top5": 0.39, "deletion_aopc": 0.30, "random_deletion_aopc": 0.12,
               "randomization_spearman_within_modality": 0.45}
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"metrics": metrics, "notes": [],
                                      "verdicts": [v.as_dict() for v in verdicts(metrics)]}))
    page = write_song_page(song_dir / "explanation.json", tmp_path / "page.html", evaluation_json=evaluation)
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert re.search(r"<span class=\"fail\">\S+ stability: not stable</span> <span class=\"why\">"
                     r"\(top-5 Jaccard 0.39 < 0.6", text)
    assert re.search(r"<span class=\"pass\">\S+ faithfulness: faithful</span>", text)
    assert "fails the randomization check" in text and "within-modality Spearman +0.45" in text
    # an evaluation written before verdicts existed gets them from its metrics
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"metrics": metrics, "notes": []}))
    again = write_song_page(song_dir / "explanation.json", tmp_path / "old.html", evaluation_json=old)
    assert "not stable" in again.read_text(encoding="utf-8")
    index = write_index([{"id": "p0", "songs": [{"explanation": song_dir / "explanation.json", "page": page,
                                                 "evaluation": evaluation}]}], tmp_path / "index.html", title="t")
    text = index.read_text(encoding="utf-8")
    assert "stability: 0 of 1 songs pass; faithfulness: 1 of 1 songs pass; randomization: 0 of 1 songs pass" in text
    assert "not stable, faithful, fails randomization" in text
