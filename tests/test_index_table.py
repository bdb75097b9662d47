"""The index's table at scale: rows embedded as JSON, one page in the DOM, sorting, filters and paging in real
headless Chromium; hostile song ids and lyric lines stay text."""

from __future__ import annotations

import json

import pytest

from musiclime.evidence.index_table import (FAILS_SOME, NOT_EVALUATED, PAGE_ROWS, PASSES_ALL, ranked_keys,
                                            script_json, sort_key, verdict_class)
from musiclime.evidence.trust import verdicts
from musiclime.pipeline.stages.pages import index_point, write_index

from .chromium import Chromium, require_chromium
from .evidence_helpers import explain_song, separate_song, write_song
from .index_page import embedded_tables, rows_by_song

N_SONGS = 230
HOSTILE_ID = '</script><script>window.pwned = 1</script><!-- x'
HOSTILE_LINE = '</script><!-- <img src=x onerror="window.pwned = 2">'


def rho(i: int) -> float:
    """Song i's randomization rho: negative and positive, in an order unlike the songs' (a text sort differs)."""
    return round(((i * 37) % 181) / 100 - 0.9, 2)


def label(i: int) -> str:
    """Song i's true label; song 3's is hostile markup (a label, like a lyric line, is text from the data)."""
    return HOSTILE_LINE if i == 3 else "AI" if i % 7 == 0 else "human"


def genre(i: int) -> str:
    return ["rock", "<pop>", "folk", "jazz", "metal"][i % 5]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """An index of ``N_SONGS`` copies of one glass-box explanation: each its own song id, true label, genre
    cohort and evaluation (rho varies); song 3's id and label are hostile markup, the lyric line with markup too."""
    root = tmp_path_factory.mktemp("index-table")
    song = write_song(root / "songs", "s0", seed=0)
    source = explain_song(song, separate_song(song, root / "work"), root / "work" / "explanation.json",
                          num_samples=300)
    text = source.read_text(encoding="utf-8").replace("<b>markup</b> & \\\"quotes\\\" in a line",
                                                      HOSTILE_LINE.replace('"', '\\"'))
    assert "<b>markup</b>" not in text and HOSTILE_LINE in json.dumps(json.loads(text), ensure_ascii=False).replace(
        '\\"', '"')  # the line was replaced everywhere
    songs, cohorts = [], {}
    for i in range(N_SONGS):
        document = json.loads(text)
        song_id = HOSTILE_ID if i == 3 else f"song{i}"
        document["metadata"]["song_info"].update(song_id=song_id, true_label=label(i))
        folder = root / "results" / "songs" / f"s{i}"
        folder.mkdir(parents=True)
        (folder / "explanation.json").write_text(json.dumps(document), encoding="utf-8")
        metrics = {"jaccard_top5": 0.8, "deletion_aopc": 0.3, "random_deletion_aopc": 0.1,
                   "randomization_spearman_within_modality": rho(i)}
        evaluation = None
        if i % 11:
            evaluation = folder / "evaluation.json"
            evaluation.write_text(json.dumps({"metrics": metrics, "notes": [],
                                              "verdicts": [v.as_dict() for v in verdicts(metrics)]}))
        songs.append({"explanation": folder / "explanation.json", "page": folder / "page.html",
                      "evaluation": evaluation, "song": song_id})
        cohorts[song_id] = {"genre": genre(i)}
    point = index_point({"id": "p0", "overrides": []}, songs, cohorts=cohorts)
    page = write_index([point], root / "results" / "index.html", title="big")
    return page


def test_sort_keys_are_numbers_for_number_columns_and_text_for_words():
    assert sort_key("P original / reconstruction", "0.981 / 0.910") == 0.981
    assert sort_key("randomization rho", "-0.45") == -0.45 and sort_key("randomization rho", "+0.05") == 0.05
    assert sort_key("deletion AOPC (random orders)", "0.300 (0.100)") == 0.3
    assert sort_key("R^2", "-") is None and sort_key("top-5 Jaccard", "1e-3") == 0.001
    assert sort_key("song", "s10") == "s10" and sort_key("top audio", "4% of the effect") == "4% of the effect"


def test_text_keys_become_ranks_in_natural_order():
    rows = [{"song": song, "keys": [song, value]} for song, value in (("s10", 0.5), ("S2", None), ("s1", -1.0))]
    assert [row["keys"] for row in ranked_keys(rows)] == [[2, 0.5], [1, None], [0, -1.0]]
    assert ranked_keys([]) == []


def test_verdict_class_reads_the_explanations_own_checks():
    passing = {"jaccard_top5": 0.8, "deletion_aopc": 0.3, "random_deletion_aopc": 0.1,
               "randomization_spearman_within_modality": 0.05}
    assert verdict_class({"metrics": passing}) == PASSES_ALL
    assert verdict_class({"metrics": {**passing, "jaccard_top5": 0.2}}) == FAILS_SOME
    assert verdict_class(None) == NOT_EVALUATED and verdict_class({"metrics": {}}) == NOT_EVALUATED


def test_script_json_cannot_close_its_element_and_reads_back_exactly():
    data = {"id": HOSTILE_ID, "line": "a\u2028b & <!-- c -->", "n": [1, None, 0.5]}
    text = str(script_json(data))
    assert not any(c in text for c in "<>&\u2028\u2029")
    assert json.loads(text) == data


def test_the_page_embeds_every_row_with_its_filters(index):
    text = index.read_text(encoding="utf-8")
    assert "<tr><td>" not in text and "<tbody></tbody>" in text  # no static rows
    assert "<noscript>" in text and "summary.tsv" in text and "explanations.parquet" in text
    assert '<div class="wide" hidden><table class="index">' in text  # without the script no empty table shows
    [table] = embedded_tables(index).values()
    assert table["page_rows"] == PAGE_ROWS and len(table["rows"]) == N_SONGS
    options = {f["name"]: dict(f["options"]) for f in table["filters"]}
    assert list(options) == ["true label", "predicted", "verdict", "genre"]  # no detector: no split filter
    assert options["true label"] == {"AI": sum(label(i) == "AI" for i in range(N_SONGS)), HOSTILE_LINE: 1,
                                     "human": sum(label(i) == "human" for i in range(N_SONGS))}
    assert options["genre"]["<pop>"] == sum(genre(i) == "<pop>" for i in range(N_SONGS))
    assert options["verdict"][NOT_EVALUATED] == sum(i % 11 == 0 for i in range(N_SONGS))
    rows = rows_by_song(index)
    assert rows[HOSTILE_ID]["href"] == "songs/s3/page.html" and rows["song4"]["randomization rho"] == f"{rho(4):+.2f}"


def test_the_table_pages_sorts_and_filters_in_chromium(index, tmp_path):
    require_chromium()
    browser = Chromium(tmp_path / "profile", width=1400, height=1000)
    try:
        tab = browser.open(index)
        state = """JSON.stringify({rows: Array.from(document.querySelectorAll('table.index tbody tr')).map(
            tr => Array.from(tr.cells).map(td => td.textContent)),
            status: document.querySelector('.index-pager .status').textContent,
            song: document.querySelector('table.index tbody tr td a') &&
                  document.querySelector('table.index tbody tr td a').getAttribute('href'),
            pwned: window.pwned || null, scripts: document.scripts.length})"""

        def look():
            return json.loads(tab.evaluate(state))

        def click_header(name):
            tab.evaluate(f"""Array.from(document.querySelectorAll('table.index thead th'))
                .find(th => th.firstChild.textContent === {json.dumps(name)}).click()""")

        def choose(name, value):
            tab.evaluate(f"""(() => {{ const box = document.querySelector('select[data-filter={json.dumps(name)}]');
                box.value = Array.from(box.options)
                    .find(o => o.textContent.startsWith({json.dumps(value)} + ' (')).value;
                box.dispatchEvent(new Event('change')); }})()""")

        first = look()
        assert tab.evaluate("document.querySelector('table.index').offsetHeight") > 1000  # shown (hidden in the HTML)
        assert len(first["rows"]) == PAGE_ROWS and first["status"] == f"rows 1-{PAGE_ROWS} of {N_SONGS}"
        assert [r[0] for r in first["rows"][:4]] == ["song0", "song1", "song2", HOSTILE_ID]  # as text, in order
        assert first["pwned"] is None and first["scripts"] == 2
        assert first["rows"][3][1] == HOSTILE_LINE  # its true label shows as text
        options = tab.evaluate("Array.from(document.querySelectorAll('select[data-filter=\"true label\"] option'))"
                               ".map(o => o.textContent)")
        assert options == [f"all ({N_SONGS})", f"{HOSTILE_LINE} (1)", "AI (33)", f"human ({N_SONGS - 34})"]
        assert first["song"] == "songs/s0/page.html"

        column = ["song", "true label", "predicted", "P original / reconstruction", "R^2", "top audio", "top lyrics",
                  "top-5 Jaccard", "deletion AOPC (random orders)", "randomization rho"].index("randomization rho")
        evaluated = sorted((rho(i), i) for i in range(N_SONGS) if i % 11)
        click_header("randomization rho")
        ascending = look()
        assert [float(r[column]) for r in ascending["rows"][:10]] == [v for v, _ in evaluated[:10]]
        click_header("randomization rho")
        descending = look()
        assert [float(r[column]) for r in descending["rows"][:10]] == [v for v, _ in evaluated[::-1][:10]]

        tab.evaluate("document.querySelector('.index-pager button.next').click()")
        second = look()
        assert second["status"] == f"rows {PAGE_ROWS + 1}-{2 * PAGE_ROWS} of {N_SONGS}"
        assert float(second["rows"][0][column]) == evaluated[::-1][PAGE_ROWS][0]
        for _ in range(5):  # past the last page: stays on it
            tab.evaluate("document.querySelector('.index-pager button.next').click()")
        last = look()
        assert last["status"] == f"rows 201-{N_SONGS} of {N_SONGS}" and len(last["rows"]) == N_SONGS - 200
        assert [r[column] for r in last["rows"]][-1] == "-"  # songs without an evaluation sort last

        click_header("song")  # text in natural order: song10 after song9 ('<' before letters)
        assert [r[0] for r in look()["rows"][:11]] == [HOSTILE_ID, *(f"song{i}" for i in (0, 1, 2, 4, 5, 6, 7, 8, 9, 10))]

        choose("true label", "AI")
        n_ai = sum(label(i) == "AI" for i in range(N_SONGS))
        ai = look()
        assert len(ai["rows"]) == n_ai and ai["status"] == f"rows 1-{n_ai} of {n_ai} (filtered from {N_SONGS})"
        assert {r[1] for r in ai["rows"]} == {"AI"}
        choose("genre", "<pop>")
        both = sum(label(i) == "AI" and genre(i) == "<pop>" for i in range(N_SONGS))
        assert len(look()["rows"]) == both
        choose("true label", "all")
        choose("verdict", NOT_EVALUATED)
        assert len(look()["rows"]) == sum(i % 11 == 0 and genre(i) == "<pop>" for i in range(N_SONGS))
        assert tab.errors() == []
        (tmp_path / "index.png").write_bytes(tab.screenshot())
        tab.close()
    finally:
        browser.close()
