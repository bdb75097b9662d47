"""The README's demo run, read as its reader reads it: every claim of every song page's lead is checked
against the explanation's metadata, and the claims are stable across mask seeds.

The lead is parsed here with patterns of its own (not the library's sentence builder), so a sentence that
claims more than the certification, or a share the exact values do not allow, fails whatever wrote it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from musiclime.method.explanation import load_explanation
from musiclime.method.explanation_views import explained_label

from .workflow_helpers import snakemake

pytestmark = pytest.mark.slow

#: Below this change of the probability a modality does not matter (the library's RESOLVABLE_EFFECT).
RESOLVABLE = 0.01
NUMBER = r"[+-]\d\.\d{3}"
MODALITY = {"the audio": "audio", "the lyrics": "lyrics"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The README's demo (``snakemake --cores 2``, default config) in a fresh folder."""
    workdir = tmp_path_factory.mktemp("demo")
    result = snakemake(workdir, [])
    assert result.returncode == 0, result.stderr[-3000:]
    pages = sorted((workdir / "results" / "points").glob("*/songs/*.html"))
    assert len(pages) == 4, pages
    return pages


def page_source(page: Path):
    """The explanation a page was written from (its pictures sit in the explanation's media folder)."""
    text = page.read_text(encoding="utf-8")
    picture = re.search(r'src="([^"]+/heatmap\.png)"', text).group(1)
    return load_explanation((page.parent / html.unescape(picture)).resolve().parents[1] / "explanation.json")


def lead_of(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    block = re.search(r'<div class="lead" id="lead">(.*?)</div>', text, re.S).group(1)
    return [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", block, re.S)]


class Truth:
    """What the metadata allows a page to say."""

    def __init__(self, explanation):
        self.explanation = explanation
        self.label = explained_label(explanation)
        self.name = explanation.label_name(self.label)
        metadata = explanation.metadata
        self.certification = metadata["certification"]["labels"][str(self.label)]
        self.attribution = metadata["modality_attribution"]["labels"][str(self.label)]
        self.boundaries = metadata["segment_boundaries_s"]

    def record(self, modality: str) -> dict:
        return self.certification[modality]

    def sets(self, modality: str) -> set[int]:
        record = self.record(modality)
        return set(record["certified_sets"]) if record["judged"] else set()

    def column_of(self, modality: str, words: str) -> int:
        """The mask column a named feature stands for."""
        features = self.explanation.features
        if modality == "audio":
            source, start, end = re.fullmatch(r"(\w+) in ([\d.]+)-([\d.]+) s", words).groups()
            segment = next(i for i in range(len(self.boundaries) - 1)
                           if f"{round(self.boundaries[i], 1):g}" == start and f"{round(self.boundaries[i + 1], 1):g}" == end)
            [column] = [i for i, f in enumerate(features) if f["feature"] == f"{source}_T{segment}"]
            return column
        quoted = re.fullmatch(r"'(.+?)'(?: \(x\d+\))?", words).group(1)
        prefix = quoted[:-1] if quoted.endswith("…") else quoted
        matches = [i for i, f in enumerate(features) if f["type"] == "lyrics"
                   and (" ".join(str(f["feature"]).split()) == quoted
                        or (quoted.endswith("…") and " ".join(str(f["feature"]).split()).startswith(prefix)))]
        assert len(matches) == 1, (words, matches)
        return matches[0]


def names_in(text: str, modality: str) -> list[str]:
    """The features a clause names, in order."""
    if modality == "audio":
        return re.findall(r"\w+ in [\d.]+-[\d.]+ s", text)
    return re.findall(r"'.+?'(?: \(x\d+\))?", text)


def check_share(sentence: str, truth: Truth) -> None:
    values = {m: float(truth.attribution[m]) for m in ("audio", "lyrics")}
    shown = dict(re.findall(rf"(audio|lyrics) ({NUMBER})", sentence))
    assert {m: float(v) for m, v in shown.items()} == pytest.approx(values, abs=5e-4), sentence
    total = abs(values["audio"]) + abs(values["lyrics"])
    opposite = values["audio"] * values["lyrics"] < 0 and min(map(abs, values.values())) >= RESOLVABLE
    shares = re.fullmatch(r"The (audio|lyrics) carr(?:y|ies) (\d+)% of the effect, the (audio|lyrics) (\d+)% .*", sentence)
    if shares:
        assert total >= RESOLVABLE and not opposite, sentence
        heavy, heavy_share, light, light_share = shares.groups()
        assert int(heavy_share) == round(100 * abs(values[heavy]) / total), sentence
        assert int(light_share) == round(100 * abs(values[light]) / total), sentence
    elif sentence.startswith("Neither the audio nor the lyrics reaches"):
        assert total < RESOLVABLE, sentence
    else:
        towards = re.match(r"The (audio|lyrics) pushes? towards .+ and the (audio|lyrics) away from it", sentence)
        assert towards and opposite, sentence
        assert values[towards.group(1)] > 0 > values[towards.group(2)], sentence


def check_removal(sentence: str, truth: Truth) -> str:
    """``Removing all of the audio changes P(x) by ... ; no audio component stands out (why).``"""
    found = re.match(rf"Removing all of (the audio|the lyrics) changes P\((.+?)\) by ({NUMBER}) \((\d\.\d{{3}}) to "
                     rf"(\d\.\d{{3}})\)", sentence)
    assert found, sentence
    modality = MODALITY[found.group(1)]
    p = truth.attribution["probabilities"]
    without = p["lyrics_only"] if modality == "audio" else p["audio_only"]
    assert float(found.group(3)) == pytest.approx(without - p["both"], abs=5e-4)
    assert (float(found.group(4)), float(found.group(5))) == pytest.approx((p["both"], without), abs=5e-4)
    record = truth.record(modality)
    why = re.search(r"stands out \((.+)\)\.$", sentence).group(1)
    if why == "no rank certified":
        assert record["judged"] and record["certified_top_k"] == 0, sentence
    elif why.startswith("its top ranks are certified"):
        effect = max(abs(without - p["both"]), abs(float(truth.attribution[modality])))
        assert record["certified_top_k"] >= 1 and effect < RESOLVABLE, sentence
    else:
        assert why == "too few distinct masks to judge the ranks" and not record["judged"], sentence
    return modality


def check_leaders(sentence: str, truth: Truth) -> str:
    """``Among the audio (by stem ...), <claim>.``: every named leader and the claim made of them."""
    found = re.match(r"Among (the audio|the lyrics)(?: \(exact, by stem: [^)]*\))?, (.+)\.$", sentence)
    assert found, sentence
    modality, claim = MODALITY[found.group(1)], found.group(2)
    record, sets = truth.record(modality), truth.sets(modality)
    ranking = record["ranking"]
    named = [truth.column_of(modality, words) for words in names_in(claim, modality)]
    assert named and record["judged"], sentence
    effect = max(abs(float(truth.attribution[modality])), abs(
        truth.attribution["probabilities"]["lyrics_only" if modality == "audio" else "audio_only"]
        - truth.attribution["probabilities"]["both"]))
    assert effect >= RESOLVABLE, f"leaders named where the modality does not matter: {sentence}"
    k = record["certified_top_k"]
    assert set(named) <= set(ranking[:k]), f"a leader outside the certified top set: {sentence}"
    ordered = 0
    while ordered + 1 in sets:
        ordered += 1
    if " moves the model more than any other " in claim and claim.endswith("(certified)"):
        assert named == ranking[:1] and 1 in sets, sentence  # rank 1 in its place
    elif " leads, then " in claim and "each mov" not in claim:
        assert named == ranking[:len(named)] and ordered >= len(named), f"an order claimed beyond the test: {sentence}"
        top = re.search(r"the top (\d+) of \d+ as a set", claim)
        assert top is None or int(top.group(1)) in sets, sentence
    elif " leads;" in claim:
        lead, rest = claim.split(";", 1)
        first = [truth.column_of(modality, w) for w in names_in(lead, modality)]
        assert first == ranking[:len(first)] and ordered >= len(first), sentence
        size = int(re.search(r"a certified top (\d+) of", rest).group(1))
        assert size == k and k in sets and ordered < k, sentence
    else:
        assert re.search(r"each move the model more than any other", claim), sentence
        more = re.search(r" and (\d+) more each move", claim)
        size = len(named) + (int(more.group(1)) if more else 0)
        assert size in sets and set(named) <= set(ranking[:size]), f"a set claimed beyond the test: {sentence}"
        assert "order among themselves is not certified" in claim or "in no certified order" in claim, sentence
        assert ordered < len(named), f"a certified order written as a set only: {sentence}"
    return modality


def test_every_demo_lead_says_only_what_its_metadata_certifies(demo):
    claimed = 0
    for page in demo:
        truth = Truth(page_source(page))
        first, *rest = lead_of(page)
        found = re.fullmatch(r"The model calls this song (.+) \(P = (\d\.\d\d)\)\.", first)
        assert found, first
        predicted = truth.explanation.predicted_label
        assert found.group(1) == truth.explanation.label_name(predicted) == truth.name
        assert float(found.group(2)) == pytest.approx(float(truth.explanation.probabilities_original[predicted]),
                                                      abs=0.005)
        check_share(rest[0], truth)
        covered = []
        for sentence in rest[1:]:
            if sentence.startswith("Removing all of"):
                covered.append(check_removal(sentence, truth))
            else:
                covered.append(check_leaders(sentence, truth))
                claimed += 1
        assert sorted(covered) == ["audio", "lyrics"], (page.name, rest)
        # the marks of the rankings: a check mark only on ranks certified in their place, a dot on the rest of the set
        text = page.read_text(encoding="utf-8")
        for modality in ("audio", "lyrics"):
            section = text[text.index(f'id="ranking-{modality}"'):]
            section = section[:section.index("</section>")]
            sets, k = truth.sets(modality), truth.record(modality)["certified_top_k"]
            for css, rank in re.findall(r'<tr class="([^"]*)"><td class="num">(\d+)</td>', section):
                rank = int(rank)
                in_place = rank - 1 in sets | {0} and rank in sets
                assert ("certified" in css.split()) == in_place, (page.name, modality, rank)
                assert ("in-set" in css.split()) == (rank <= k and not in_place), (page.name, modality, rank)
    assert claimed >= 4, "the demo's pages should name certified leaders"


def test_the_claims_of_every_demo_song_are_stable_across_mask_seeds(demo):
    for page in demo:
        text = html.unescape(page.read_text(encoding="utf-8"))
        verdict = re.search(r"stability: (stable|not stable)", text)
        assert verdict and verdict.group(1) == "stable", page.name
        assert "certified sets nested 1.00, named leaders agree 1.00, shares agree 1.00" in text, page.name
    evaluations = list(demo[0].parents[3].glob("songs/*/**/evaluation-*/evaluation.json"))
    assert len(evaluations) == 4
    for path in evaluations:
        metrics = json.loads(path.read_text())["metrics"]
        assert metrics["claims_pairs"] == 3 and "jaccard_top5" in metrics
