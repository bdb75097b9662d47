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
from .index_page import rows_by_song

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
    for page in report["pages"]:
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text and "<i>0</i>" not in text and "kernel_width=<5>" not in text
        assert "<b>markup</b>" not in text
        assert "&lt;b&gt;markup&lt;/b&gt; &amp;" in text and MARKUP_LINE in html.unescape(text)
    index = report["index"].read_text(encoding="utf-8")
    # the index's own two script elements (the rows' JSON, the table's code) and no other markup from the data
    assert index.count("<script") == 2 and index.count("</script") == 2
    assert "demo &lt;script&gt;" in index and "<i>0</i>" not in index and "kernel_width=<5>" not in index
    data = index[index.index('<script type="application/json"'):]
    data = data[data.index(">") + 1:data.index("</script>")]
    assert "<" not in data and ">" not in data and "&" not in data  # \u003c etc.: read back exactly by JSON.parse
    rows = rows_by_song(report["index"])
    assert set(rows) == {"song <i>0</i>", "song&1"}


def test_links_are_relative_and_survive_copying(report, tmp_path):
    import shutil

    from urllib.parse import unquote

    def links_of(page):  # the index's song links are in its rows' JSON
        rows = rows_by_song(page) if page.name == "index.html" else {}
        return re.findall(r'(?:src|href)="([^"]+)"', page.read_text(encoding="utf-8")) + [
            row["href"] for row in rows.values()]

    for page in report["pages"]:
        links = links_of(page)
        assert links and not [link for link in links if link.startswith("/") or "://" in link]
    hrefs = [row["href"] for row in rows_by_song(report["index"]).values()]
    assert len(hrefs) == 2 and not [link for link in hrefs if link.startswith("/") or "://" in link]
    copied = tmp_path / "elsewhere"
    shutil.copytree(report["results"], copied)
    for page in [copied / "index.html", *copied.glob("points/p0/*/page.html")]:
        folder = page.parent
        for link in links_of(page):
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
    [row] = rows_by_song(index).values()
    assert row["verdicts"] == "not stable, faithful, fails randomization"
    assert row["facets"]["verdict"] == "fails some"


def _variant(explanation_json, out_json, **metadata):
    """A copy of an explanation JSON with metadata entries replaced (``None``: removed)."""
    document = json.loads(explanation_json.read_text(encoding="utf-8"))
    for key, value in metadata.items():
        if value is None:
            document["metadata"].pop(key, None)
        else:
            document["metadata"][key] = value
    out_json.write_text(json.dumps(document), encoding="utf-8")
    return out_json


def _section(text: str, element_id: str) -> str:
    """The HTML of the element with ``id="element_id"`` up to its closing ``</section>``/``</div>``."""
    start = text.index(f'id="{element_id}"')
    return text[start:text.index("</section>" if "ranking" in element_id else "</div>", start)]


def _full_fit(explanation_json) -> tuple[str, list[float]]:
    metadata = json.loads(explanation_json.read_text(encoding="utf-8"))["metadata"]
    [(label, entry)] = metadata["full_fit"]["labels"].items()
    return label, entry["weights"]


def test_each_modality_has_its_own_ranking_from_the_full_fit(report):
    """Lyrics may outweigh audio: the page still ranks at least 5 audio components, each with a weight."""
    text = report["pages"][0].read_text(encoding="utf-8")
    audio, lyrics = _section(text, "ranking-audio"), _section(text, "ranking-lyrics")
    weights = [float(w) for w in re.findall(r">([+-]\d\.\d{4})</td></tr>", audio)]
    assert len(weights) >= 5 and all(w != 0 for w in weights)
    assert [abs(w) for w in weights] == sorted((abs(w) for w in weights), reverse=True)
    assert "drums_T2" in audio and "full fit: a ridge on every feature" in audio
    assert len(re.findall(r">([+-]\d\.\d{4})</td></tr>", lyrics)) == 5  # every lyric line of the song
    assert text.index('id="ranking-audio"') < text.index('id="ranking-lyrics"')


def test_heatmap_weighs_every_audio_component(report, tmp_path):
    from musiclime.evidence.figures import cell_labels
    from musiclime.method.explanation import load_explanation
    from musiclime.method.explanation_views import audio_grid, explained_label

    source = report["pages"][0].parent / "explanation.json"
    explanation = load_explanation(source)
    grid = audio_grid(explanation, explained_label(explanation))
    assert grid.full_fit and np.count_nonzero(grid.weights) == grid.weights.size == 24
    assert len(cell_labels(grid)) == grid.weights.size  # every cell carries its number, small ones too
    # an explanation written before the full fit: the selected features only, and the page says so
    old = _variant(source, tmp_path / "old.json", full_fit=None, certification=None)
    old_grid = audio_grid(load_explanation(old), explained_label(explanation))
    assert not old_grid.full_fit and np.count_nonzero(old_grid.weights) < old_grid.weights.size
    text = html.unescape(write_song_page(old, tmp_path / "old.html").read_text(encoding="utf-8"))
    assert "features it did not select count as 0" in text
    assert "audio ranks not certified (no rank certification was recorded" in text


def test_certified_ranks_are_marked_and_boundary_ties_grouped(report, tmp_path):
    """A check mark only where a rank is certified in its place, a dot for the rest of a certified top set;
    the lead says a set as a set and an order only as far as it is certified."""
    source = report["pages"][0].parent / "explanation.json"
    label, weights = _full_fit(source)
    document = json.loads(source.read_text(encoding="utf-8"))
    columns = {kind: [i for i, f in enumerate(document["features"]) if f["type"] == kind]
               for kind in ("audio", "lyrics")}
    ranked = {kind: sorted(cols, key=lambda c: -abs(weights[c])) for kind, cols in columns.items()}

    def certification(audio_k, method="holm", sets=None):
        audio = {"certified_top_k": audio_k, "ranking": ranked["audio"], "judged": True, "method": method,
                 "tied_at_boundary": ranked["audio"][audio_k:audio_k + 3]}
        if sets is not None:
            audio["certified_sets"] = sets
        return {"alpha": 0.1, "correction": "c", "labels": {label: {
            "certified_top_k": 2, "ranking": ranked["audio"][:2], "tied_at_boundary": [], "judged": True,
            "audio": audio, "lyrics": {"certified_top_k": 1, "ranking": ranked["lyrics"], "judged": True,
                                       "tied_at_boundary": [], "method": method}}}}

    def page(name, record):
        written = write_song_page(_variant(source, tmp_path / f"{name}.json", certification=record),
                                  tmp_path / f"{name}.html")
        text = html.unescape(written.read_text(encoding="utf-8"))
        return _section(text, "ranking-audio"), _section(text, "ranking-lyrics"), _section(text, "lead")

    # a top-2 set (a record written before certified_sets): two dots, no check mark
    audio, lyrics, lead = page("set", certification(2))
    assert len(re.findall(r'<tr class="in-set', audio)) == 2 and '<tr class="certified' not in audio
    assert len(re.findall(r'<tr class="certified', lyrics)) == 1  # a top-1 set is rank 1 in its place
    assert "ranks 3-5: tied" in audio and len(re.findall(r'<tr class="[^"]*tied', audio)) == 3
    # fewer than 5 certified audio ranks: the page says so in words
    assert "only the top 2 of 24 audio ranks certified as a set, their order not certified; the rest not" in audio
    assert ("Among the audio (exact, by stem: drums +0.220, bass +0.150, vocals -0.120, other +0.080), drums in "
            "1.3-2 s and bass in 2.7-3.3 s each move the model more than any other audio component; their order "
            "among themselves is not certified.") in lead
    assert "'<b>markup</b> & \"quotes\" in a line' moves the model more than any other lyric unit (certified)" in lead
    assert "lead" not in lead.replace('id="lead"', "").replace("leads", "") and "certain" not in lead
    # the sequential test certifies the order: a check mark on each rank, "then" in the lead
    audio, _, lead = page("order", certification(2, "sequential"))
    assert len(re.findall(r'<tr class="certified', audio)) == 2 and "in-set" not in audio
    assert "drums in 1.3-2 s leads, then bass in 2.7-3.3 s (this order certified)." in lead
    assert "only the top 2 of 24 audio ranks certified in order; the rest not" in audio
    # Holm with the top 1 and the top 6 certified: rank 1 in its place, ranks 2-6 a set
    audio, _, lead = page("both", certification(6, "holm", [1, 6]))
    assert len(re.findall(r'<tr class="certified', audio)) == 1 and len(re.findall(r'<tr class="in-set', audio)) == 5
    assert "the top 6 of 24 audio ranks certified as a set, rank 1 in its place" in audio and "the rest not" not in audio
    assert re.search(r"drums in 1\.3-2 s leads; bass in 2\.7-3\.3 s, [^;,]+ and 3 more follow, each moving the "
                     r"model more than any other audio component \(a certified top 6 of 24; the order after rank 1 "
                     r"not certified\)\.", lead), lead
    # Holm with inner sets but not the first: a set claim, the inner sets in the status line
    audio, _, lead = page("sets", certification(6, "holm", [2, 6]))
    assert "<tr class=\"certified" not in audio and "as a set (and the top 2 as sets), their order not" in audio
    assert "and 3 more each move the model more than any other audio component (a certified top 6 of 24, in no " \
           "certified order)" in lead


def test_leaders_are_named_only_where_the_exact_effect_resolves_them(report, tmp_path):
    """A certified audio ranking on a model the audio barely moves: the page names no audio leader and
    says what removing the audio does; an explanation without the exact attribution keeps the share of
    the weight and names certified leaders only."""
    source = report["pages"][0].parent / "explanation.json"
    label, weights = _full_fit(source)
    document = json.loads(source.read_text(encoding="utf-8"))
    audio_columns = sorted((i for i, f in enumerate(document["features"]) if f["type"] == "audio"),
                           key=lambda c: -abs(weights[c]))
    certification = {"alpha": 0.1, "correction": "c", "labels": {label: {
        "certified_top_k": 1, "ranking": audio_columns[:1], "tied_at_boundary": [], "judged": True,
        "audio": {"certified_top_k": 2, "ranking": audio_columns, "judged": True, "tied_at_boundary": []},
        "lyrics": {"certified_top_k": 0, "ranking": [], "judged": True, "tied_at_boundary": []}}}}
    faint = {"labels": {label: {"audio": 0.004, "lyrics": 0.4, "interaction": 0.001, "audio_share": 0.01,
                                "probabilities": {"both": 0.95, "audio_only": 0.55, "lyrics_only": 0.945,
                                                  "neither": 0.545}}}, "predictions": 4}
    page = write_song_page(_variant(source, tmp_path / "faint.json", certification=certification,
                                    modality_attribution=faint), tmp_path / "faint.html")
    lead = _section(html.unescape(page.read_text(encoding="utf-8")), "lead")
    assert "The lyrics carry 99% of the effect, the audio 1%" in lead
    assert ("Removing all of the audio changes P(Human-Composed) by -0.005 (0.950 to 0.945)" in lead
            and "no audio component stands out (its top ranks are certified, but its whole effect is below 0.01)"
            in lead)  # certified, but not resolved
    assert "drums in" not in lead and " s lead" not in lead
    old = _variant(source, tmp_path / "old.json", certification=certification, modality_attribution=None,
                   stem_attribution=None)
    lead = _section(html.unescape(write_song_page(old, tmp_path / "old.html").read_text(encoding="utf-8")), "lead")
    assert re.search(r"The audio carries \d+% of the weight: drums in 1\.3-2 s and bass in 2\.7-3\.3 s each move "
                     r"the model more than any other audio component; their order among themselves is not certified",
                     lead)
    assert re.search(r"Among the lyrics \(\d+% of the weight\), no lyric unit stands out \(no rank certified\)", lead)
    assert "exact-attribution" not in html.unescape((tmp_path / "old.html").read_text(encoding="utf-8"))


@pytest.mark.parametrize("audio, lyrics, words, absent", [
    # both exact values 0: no share, no "67%"
    (0.0, 0.0, "Neither the audio nor the lyrics reaches 0.01 on P(Human-Composed) (exact Shapley values: audio "
               "+0.000, lyrics +0.000).", "% of the effect"),
    # opposite signs: which pushes which way, and their net effect, not "50% / 50%"
    (0.3, -0.3, "The audio pushes towards Human-Composed and the lyrics away from it (exact Shapley values: audio "
                "+0.300, lyrics -0.300); the two together change P(Human-Composed) by +0.000.", "% of the effect"),
    (-0.2, 0.5, "The lyrics push towards Human-Composed and the audio away from it", "% of the effect"),
    # a faint opposite value does not turn the sentence round: the shares stand
    (0.4, -0.004, "The audio carries 99% of the effect, the lyrics 1%", "away from it"),
])
def test_shares_are_stated_only_where_the_exact_effects_allow(report, tmp_path, audio, lyrics, words, absent):
    source = report["pages"][0].parent / "explanation.json"
    label, _ = _full_fit(source)
    share = abs(audio) / (abs(audio) + abs(lyrics)) if audio or lyrics else 0.5
    attribution = {"labels": {label: {"audio": audio, "lyrics": lyrics, "interaction": 0.0, "audio_share": share,
                                      "probabilities": {"both": 0.9, "audio_only": 0.9 - audio,
                                                        "lyrics_only": 0.9 - lyrics, "neither": 0.9 - audio - lyrics}}},
                   "predictions": 4}
    page = write_song_page(_variant(source, tmp_path / "a.json", modality_attribution=attribution),
                           tmp_path / "a.html")
    text = html.unescape(page.read_text(encoding="utf-8"))
    lead = _section(text, "lead")
    assert words in lead and absent not in lead
    if absent == "% of the effect":  # the ranking's heading gives the exact value, not a share
        assert f"Audio components: exact effect {audio:+.3f}" in _section(text, "ranking-audio")


def test_page_leads_with_the_answer_and_folds_the_tables(report):
    text = html.unescape(report["pages"][0].read_text(encoding="utf-8"))
    lead = _section(text, "lead")
    assert re.search(r"The model calls this song (AI-Generated|Human-Composed) \(P = 0\.\d\d\)\.", lead)
    # the shares are the exact Shapley values' (the planted audio +0.33 against lyrics +0.04), not |weight| sums
    assert "The audio carries 89% of the effect, the lyrics 11% (exact Shapley values towards" in lead
    assert "of the weight" not in lead
    # no rank is judged on 200 samples: no leader is named, the page says what removing each modality does
    assert "Removing all of the audio changes P(" in lead and "no audio component stands out" in lead
    assert "by stem (exact): drums +0.220, bass +0.150, vocals -0.120, other +0.080" in lead
    assert "drums in" not in lead
    exact = _section(text, "exact-attribution")
    assert "32 model predictions" in exact and "(consistent)" in exact
    order = [text.index(marker) for marker in ('id="lead"', 'id="ranking-audio"', "<img", "<audio",
                                                "How far to trust this explanation", "<details")]
    assert order == sorted(order)
    folded = text[text.index("<details"):]
    for table_text in ("surrogate R^2", "waveforms composed", "Configuration", "Lyrics, highlighted by weight"):
        assert table_text in folded and table_text not in text[:text.index("<details")], table_text


def test_second_opinion_is_shown_only_where_the_masks_support_it(report, tmp_path):
    """Kernel SHAP with too few effective rows: no weights, metrics or verdicts on the page, the index or
    MLflow's tags, and the page says why; with enough rows, all of them."""
    from musiclime.tracking.records import evaluation_record

    source = report["pages"][0].parent / "explanation.json"
    label, weights = _full_fit(source)
    alternative = {"method": "kernel_shap", "labels": {label: {
        "intercept": 0.4, "score": 0.9, "local_prediction": 0.8,
        "weights": [[i, w] for i, w in sorted(enumerate(weights), key=lambda item: -abs(item[1]))]}}}
    metrics = {"jaccard_top5": 0.8, "deletion_aopc": 0.3, "random_deletion_aopc": 0.1, "shap_jaccard_top5": 0.0,
               "shap_deletion_aopc": 0.12}
    evaluation = {"metrics": metrics, "notes": [], "verdicts": [v.as_dict() for v in verdicts(metrics)]}
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation))
    assert any(v["check"] == "shap_stability" for v in evaluation["verdicts"])
    pages = {}
    for name, rows in (("few", 20.0), ("enough", 100.0)):
        explanation = _variant(source, tmp_path / f"{name}.json", alternative_surrogate=alternative,
                               kernel_shap_effective_samples=rows)
        page = write_song_page(explanation, tmp_path / f"{name}.html", evaluation_json=tmp_path / "evaluation.json")
        index = write_index([{"id": "p0", "songs": [{"explanation": explanation, "page": page,
                                                     "evaluation": tmp_path / "evaluation.json"}]}],
                            tmp_path / f"{name}-index.html", title="t")
        pages[name] = tuple(html.unescape(p.read_text(encoding="utf-8")) for p in (page, index))
    few, few_index = pages["few"]
    assert ("Kernel SHAP's second opinion is not shown: its importance weights leave 20 effective rows of 200 "
            "(needs 58, 2 per feature); use explain.sampler=shapley") in few
    assert "shap_" not in few and "Kernel SHAP's stability" not in few and "details-second-opinion" not in few
    assert "shap_" not in few_index and "Kernel SHAP's stability" not in few_index
    assert "not shown for 1 of 1 songs" in few_index
    assert "stability: 1 of 1 songs pass" in few_index
    enough, enough_index = pages["enough"]
    assert "details-second-opinion" in enough and "Kernel SHAP's stability: not stable" in enough
    assert "Kernel SHAP's stability: 0 of 1 songs pass" in enough_index and "not shown" not in enough
    # MLflow: an evaluation.json that says its second opinion is not shown logs no verdict or metric of it
    gated = {**evaluation, "second_opinion": {"shown": False, "reason": "r"}}
    values, tags = evaluation_record(gated)
    assert "musiclime.verdict.stability" in tags and not [k for k in [*values, *tags] if "shap_" in k]
    assert "musiclime.verdict.shap_stability" in evaluation_record(evaluation)[1]


def test_a_kernel_shap_explanation_on_too_few_effective_rows_is_flagged(report, tmp_path):
    source = report["pages"][0].parent / "explanation.json"
    for rows, flagged in ((20.0, True), (100.0, False)):
        explanation = _variant(source, tmp_path / f"{rows:g}.json", surrogate="kernel_shap",
                               kernel_shap_effective_samples=rows)
        text = html.unescape(write_song_page(explanation, tmp_path / f"{rows:g}.html").read_text(encoding="utf-8"))
        assert ("This explanation is Kernel SHAP's, and its importance weights leave 20 effective rows of 200"
                in text) is flagged


def test_lead_sentences_for_one_modality_and_another_class(report):
    from musiclime.evidence.lead import lead_sentences
    from musiclime.evidence.rankings import modality_rankings
    from musiclime.method.explanation import load_explanation

    explanation = load_explanation(report["pages"][0].parent / "explanation.json")
    predicted = explanation.predicted_label
    lyrics = [r for r in modality_rankings(explanation, predicted, 5) if r.modality == "lyrics"]
    sentences = lead_sentences(explanation, predicted, lyrics)
    assert len(sentences) == 2 and sentences[1].startswith("Removing all of the lyrics changes P(")
    assert "of the weight" not in sentences[1] and "no lyric unit stands out" in sentences[1]
    other = lead_sentences(explanation, 1 - predicted, [])
    assert other[0].endswith(f"This page explains the class {explanation.label_name(1 - predicted)}.")


def test_the_exact_table_leaves_out_the_lyrics_only_when_none_were_explained_and_they_move_nothing():
    """A song given without lyrics (or an empty lyrics file): no lyric feature, and removing the lyrics
    changes no probability, so the table shows the stems and the audio only. An audio-only explanation
    (modality=audio) of a song whose lyrics move the model keeps the lyrics' and the interaction's cells."""
    from types import SimpleNamespace

    from musiclime.evidence.pages import exact_context

    def explanation(probabilities, lyrics_value):
        metadata = {"modality_attribution": {"labels": {"1": {
                        "audio": 0.3, "lyrics": lyrics_value, "interaction": 0.0, "audio_share": 1.0,
                        "probabilities": probabilities}}},
                    "stem_attribution": {"labels": {"1": {"vocals": 0.2, "drums": 0.1, "lyrics": lyrics_value}}}}
        return SimpleNamespace(features=[{"type": "audio", "name": "vocals_T0"}], metadata=metadata)

    silent = exact_context(explanation({"both": 0.8, "audio_only": 0.8, "lyrics_only": 0.5, "neither": 0.5}, 0.0), 1)
    assert not silent["lyrics"] and [c["name"] for c in silent["cells"]] == ["vocals", "drums", "audio (all stems)"]
    assert silent["probabilities"] == "0.800 with the audio, 0.500 without it"
    heard = exact_context(explanation({"both": 0.8, "audio_only": 0.6, "lyrics_only": 0.5, "neither": 0.4}, 0.15), 1)
    assert heard["lyrics"] and [c["name"] for c in heard["cells"]] == ["vocals", "drums", "lyrics", "audio (all stems)",
                                                                       "audio x lyrics"]
    assert "without the lyrics" in heard["probabilities"]
