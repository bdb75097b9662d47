"""Check what the song pages of a run say about the audio against the model itself.

For every song page of a demo run (``results/points/<point>/songs/<song>.html``) this reads the
page's lead: the audio share it states and the audio components it names as leaders. It then asks
the demo model directly, with the song's stems and lyrics and code of its own (no
``musiclime.method``): the probability of the explained class with everything on (the sum of the
stems), with all of the audio removed, with all of the lyrics removed, with neither; the exact
two-player Shapley share of the audio from those four numbers; and what removing each named leader
alone does. Run it on any checkout's results (the pages are parsed as text)::

    python benchmarks/check_page_claims.py RUN_DIR [--weights RUN_DIR/resources/models/demo]

It prints one row per page. A page is right about the audio when its stated share is within 2
points of the exact share and every leader it names moves the probability.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path

import numpy as np

LEADER = re.compile(r"(vocals|drums|bass|other) in ([\d.]+)-([\d.]+) s")
SHARE = re.compile(r"(?:Among the audio \((\d+)% of the weight\)|The audio carries (\d+)% of the (?:weight|effect)"
                   r"|the audio (\d+)% \(exact)")


def page_lead(page: Path) -> str:
    """The text of the page's lead (``id="lead"``), tags removed."""
    text = html.unescape(page.read_text(encoding="utf-8"))
    start = text.index('id="lead"')
    return re.sub(r"<[^>]+>", " ", text[start:text.index("</div>", start)])


def stated_audio(lead: str) -> tuple[float | None, list[tuple[str, float, float]]]:
    """The audio share the lead states (0..1) and the audio leaders it names ``(source, start_s, end_s)``."""
    match = SHARE.search(lead)
    share = None if match is None else int(next(g for g in match.groups() if g)) / 100
    audio_sentence = next((s for s in re.split(r"(?<=\.)\s+", lead) if "audio" in s and LEADER.search(s)), "")
    leaders = [(m.group(1), float(m.group(2)), float(m.group(3))) for m in LEADER.finditer(audio_sentence)]
    return share, leaders


def lyrics_without_lines(text: str) -> str:
    """The lyrics with every lyric line removed (metadata lines such as ``[Chorus]`` kept)."""
    return "\n".join(line for line in text.splitlines() if re.fullmatch(r"\s*(\[.*\]|\(.*\))?\s*", line))


def model_answer(predict_fn, stems: np.ndarray, sources: list[str], rate: int, lyrics: str, label: int,
                 leaders: list[tuple[str, float, float]]) -> dict:
    """The explained class's probability on the four modality coalitions, and per named leader the
    probability with that one component removed."""
    def p(audio: np.ndarray, text: str) -> float:
        return float(predict_fn([text], audio[None, :].astype(np.float32))[0, label])

    full, silent, bare = stems.sum(axis=0), np.zeros(stems.shape[1], dtype=np.float32), lyrics_without_lines(lyrics)
    both, no_audio, no_lyrics, neither = p(full, lyrics), p(silent, lyrics), p(full, bare), p(silent, bare)
    audio = 0.5 * ((no_lyrics - neither) + (both - no_audio))
    lyrics_value = 0.5 * ((no_audio - neither) + (both - no_lyrics))
    removed = []
    for source, start, end in leaders:
        cut = stems.copy()
        a, b = int(round(start * rate)), int(round(end * rate))
        cut[sources.index(source), a:b] = 0.0
        removed.append(p(cut.sum(axis=0), lyrics) - both)
    return {"both": both, "no_audio": no_audio, "no_lyrics": no_lyrics, "neither": neither,
            "exact_share": abs(audio) / (abs(audio) + abs(lyrics_value)) if audio or lyrics_value else 0.0,
            "leader_effects": removed}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the folder the workflow ran in (holds results/ and resources/)")
    parser.add_argument("--weights", type=Path, default=None, help="demo model folder (default RUN/resources/models/demo)")
    args = parser.parse_args(argv)
    from musiclime.models.demo_classifier import load_demo_predict_fn

    predict_fn = load_demo_predict_fn(str(args.weights or args.run / "resources/models/demo"), device="cpu")
    print(f"{'page':<34} {'stated':>6} {'exact':>6} {'P all':>6} {'-audio':>7} {'-lyrics':>7}  leaders (effect of removing each)")
    for page in sorted(args.run.glob("results/points/*/songs/*.html")):
        row = _summary_row(page)
        explanation = args.run / row["explanation"]
        document = json.loads(explanation.read_text(encoding="utf-8"))
        meta = document["metadata"]
        label = int(row["explained_label"])
        stems_npz = next(explanation.parents[3].glob("stems.npz"))
        with np.load(stems_npz, allow_pickle=False) as archive:
            stems = archive["stems"]
            stems_meta = json.loads(str(archive["meta"]))
        lyrics = Path(meta["song_info"]["lyrics"]).read_text(encoding="utf-8")
        share, leaders = stated_audio(page_lead(page))
        answer = model_answer(predict_fn, stems, list(stems_meta["sources"]), int(stems_meta["sample_rate"]), lyrics,
                              label, leaders)
        named = ", ".join(f"{s} {a:g}-{b:g} s ({e:+.3f})" for (s, a, b), e in zip(leaders, answer["leader_effects"]))
        stated = "-" if share is None else f"{share:.0%}"
        print(f"{page.parent.parent.name + '/' + page.stem:<34} {stated:>6} {answer['exact_share']:>6.0%} "
              f"{answer['both']:>6.3f} {answer['no_audio']:>7.3f} {answer['no_lyrics']:>7.3f}  {named or 'none named'}")


def _summary_row(page: Path) -> dict:
    """The row of the point's ``summary.tsv`` for the page's song (its ``explanation`` and ``explained_label``)."""
    import csv

    with open(page.parent.parent / "summary.tsv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["song_id"] == page.stem:
                return row
    raise KeyError(f"{page}: its song is not in the point's summary.tsv")


if __name__ == "__main__":
    main()
