"""The point's index page at 10,000 songs: writing it, opening it, sorting and filtering it in headless Chromium.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/bench_index_pages.py [--songs 10000] [--keep DIR]

Copies one tiny glass-box explanation (made here, as ``bench_tracking_scale.py`` does) under new song ids,
true labels and cohort values, each with an evaluation whose metrics vary, and times ``write_index`` over
them. Then opens the page in headless Chromium (``tests/chromium.py``'s DevTools-pipe driver), fresh tab
per try, and reads from the page's own clock:

* open: navigation start to the table's first page rendered (the script's ``index-rendered`` mark), to the
  first frame after DOMContentLoaded (style, layout and paint of that page done) and to the load event's end;
* a header click (a number column, a text column, the second click reversing) and a filter change: the
  click handler's own time, and the time to the next frame (``requestAnimationFrame`` then a task: style,
  layout and paint of the new page of rows included).

Targets: open <= 2 s, sort and filter <= 200 ms. Prints a markdown table; writes JSON beside this file
(``results/index_pages.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musiclime.common.atomic_io import write_text  # noqa: E402
from musiclime.evidence.trust import verdicts  # noqa: E402
from musiclime.pipeline.stages.pages import write_index  # noqa: E402

from benchmarks.bench_tracking_scale import glassbox_explanation  # noqa: E402
from tests.chromium import Chromium, chromium_binary  # noqa: E402

GENRES = ("rock", "pop", "folk", "jazz", "metal", "hip hop", "classical")

#: Times one action in the page: the handler's own time and the time to the next frame (ms).
TIMED = """(async () => {{
  const t0 = performance.now();
  {action};
  const t1 = performance.now();
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  const t2 = performance.now();
  return JSON.stringify({{handler: t1 - t0, frame: t2 - t0,
                          status: document.querySelector('.index-pager .status').textContent,
                          rows: document.querySelectorAll('table.index tbody tr').length}});
}})()"""
HEADER = "Array.from(document.querySelectorAll('table.index thead th')).find(th => th.firstChild.textContent === {})"
FILTER = """(() => {{ const box = document.querySelector('select[data-filter={name}]');
  box.value = Array.from(box.options).find(o => o.textContent.startsWith({value} + ' (')).value;
  box.dispatchEvent(new Event('change')); }})()"""
#: Run before the page's scripts: the first frame after DOMContentLoaded (the table's script has run by then).
FIRST_FRAME = """document.addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => setTimeout(() => {
  window.benchFirstFrame = performance.now(); }, 0)));"""
OPENED = """new Promise(done => { const wait = () => window.benchFirstFrame ? done() : setTimeout(wait, 5); wait(); })
.then(() => JSON.stringify({
  rendered: performance.getEntriesByName('index-rendered')[0].startTime, painted: window.benchFirstFrame,
  load: performance.getEntriesByType('navigation')[0].loadEventEnd,
  rows: document.querySelectorAll('table.index tbody tr').length,
  status: document.querySelector('.index-pager .status').textContent}))"""


def synthetic_point(source: Path, folder: Path, n: int) -> dict:
    """``n`` copies of ``source`` (song ids ``song00000`` ... in a shuffled order, so that sorting by song
    sorts; labels, evaluations, cohorts): a point of :func:`write_index`."""
    document = json.loads(source.read_text(encoding="utf-8"))
    songs = []
    for i in range(n):
        song_id = f"song{(i * 7919) % n:05d}"  # 7919 is prime: every id once (n not a multiple of it)
        document["metadata"]["song_info"].update(song_id=song_id, true_label=i % 2)
        path = folder / song_id / "explanation.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
        metrics = {"jaccard_top5": (i * 7919 % 1000) / 1000, "deletion_aopc": 0.3, "random_deletion_aopc": 0.1,
                   "randomization_spearman_within_modality": ((i * 104729) % 2001) / 1000 - 1.0}
        evaluation = path.parent / "evaluation.json"
        evaluation.write_text(json.dumps({"metrics": metrics, "notes": [],
                                          "verdicts": [v.as_dict() for v in verdicts(metrics)]}), encoding="utf-8")
        songs.append({"explanation": path, "page": path.parent / "page.html", "evaluation": evaluation,
                      "cohorts": {"genre": GENRES[i % len(GENRES)], "decade": f"{1960 + 10 * (i % 7)}s"}})
    return {"id": "p0", "overrides": [], "songs": songs}


def open_page(browser: Chromium, page: Path) -> dict:
    tab = browser.open(page, FIRST_FRAME)
    try:
        opened = json.loads(tab.evaluate(OPENED))
        actions = {"sort: number column (randomization rho)": HEADER.format('"randomization rho"') + ".click()",
                   "sort: same column again (reversed)": HEADER.format('"randomization rho"') + ".click()",
                   "sort: text column (song, natural order)": HEADER.format('"song"') + ".click()",
                   "filter: true label = 1": FILTER.format(name='"true label"', value='"1"'),
                   "filter: + genre = jazz": FILTER.format(name='genre', value='"jazz"'),
                   "filter: true label = all": FILTER.format(name='"true label"', value='"all"'),
                   "page: next": "document.querySelector('.index-pager button.next').click()"}
        timed = {name: json.loads(tab.evaluate(TIMED.format(action=action))) for name, action in actions.items()}
        errors = tab.errors()
    finally:
        tab.close()
    if errors:
        raise RuntimeError(f"the page logged errors: {errors}")
    return {"opened": opened, "timed": timed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--tries", type=int, default=3, help="fresh tabs to open the page in (median reported)")
    parser.add_argument("--keep", type=Path, help="write the synthetic point and its index here (kept)")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "index_pages.json")
    args = parser.parse_args()
    if chromium_binary() is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        source = glassbox_explanation(root / "source")
        point = synthetic_point(source, root / "songs", args.songs)
        start = time.perf_counter()
        page = write_index([point], root / "index.html", title=f"{args.songs} synthetic songs")
        write_seconds = time.perf_counter() - start
        browser = Chromium(root / "profile", width=1400, height=1000, timeout_s=120)
        try:
            tries = [open_page(browser, page) for _ in range(args.tries)]
        finally:
            browser.close()
        size = page.stat().st_size
    median = statistics.median
    rows = [("write_index", write_seconds, "s", f"{args.songs} songs, one run"),
            ("HTML file size", size / 1e6, "MB", f"{size / args.songs:.0f} bytes a song"),
            ("open: first page rendered", median(t["opened"]["rendered"] for t in tries) / 1e3, "s",
             "navigation start to the script's mark (rows in the DOM)"),
            ("open: first page painted", median(t["opened"]["painted"] for t in tries) / 1e3, "s",
             "navigation start to the first frame after DOMContentLoaded; target <= 2 s"),
            ("open: load event end", median(t["opened"]["load"] for t in tries) / 1e3, "s", "")]
    for name in tries[0]["timed"]:
        frame = median(t["timed"][name]["frame"] for t in tries)
        handler = median(t["timed"][name]["handler"] for t in tries)
        rows.append((name, frame, "ms", f"handler {handler:.0f} ms; then {tries[0]['timed'][name]['status']}"))
    print(f"| index page, {args.songs} songs | value | unit | note |\n|---|---:|---|---|")
    for name, value, unit, note in rows:
        print(f"| {name} | {value:.3g} | {unit} | {note} |")
    write_text(args.json, json.dumps({"songs": args.songs, "tries": tries, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
