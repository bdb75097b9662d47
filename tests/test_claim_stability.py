"""Stability of claims: explanations of one song with other mask seeds make no claim that contradicts the page's."""

from __future__ import annotations

import json

import pytest

from musiclime.evidence.claims import page_claims
from musiclime.evidence.trust import verdicts
from musiclime.evidence.trust.claim_stability import claim_stability
from musiclime.method.explanation import load_explanation
from musiclime.method.explanation_views import explained_label

from .evidence_helpers import explain_song, separate_song, write_song


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Three mask seeds of one glass-box song (600 samples, lyric words: enough distinct masks to judge both
    rankings, and the planted audio components are certified)."""
    root = tmp_path_factory.mktemp("claims")
    song = write_song(root / "songs", "s0", seed=3)
    stems = separate_song(song, root / "sep")
    return [explain_song(song, stems, root / f"seed{s}.json", seed=s, num_samples=600, lyrics_unit="word")
            for s in range(3)]


def edited(path, out, modality=None, record=None, attribution=None):
    """A copy of an explanation with one modality's certification record or the exact attribution replaced."""
    document = json.loads(path.read_text(encoding="utf-8"))
    label = str(document["metadata"]["explained_label"]) if "explained_label" in document["metadata"] else None
    label = label or next(iter(document["metadata"]["certification"]["labels"]))
    if record is not None:
        document["metadata"]["certification"]["labels"][label][modality].update(record)
    if attribution is not None:
        document["metadata"]["modality_attribution"]["labels"][label].update(attribution)
    out.write_text(json.dumps(document), encoding="utf-8")
    return load_explanation(out)


def test_the_seeds_of_a_glass_box_make_the_same_claims(seeds):
    explanations = [load_explanation(p) for p in seeds]
    label = explained_label(explanations[0])
    claims = [page_claims(e, label) for e in explanations]
    audio = [c.modalities["audio"] for c in claims]
    assert all(a.top_set for a in audio), "the planted components should be certified at 600 samples"
    assert claim_stability(explanations, label) == {"claims_sets_nested": 1.0, "claims_leaders_agree": 1.0,
                                                    "claims_shares_agree": 1.0, "claims_pairs": 3.0}
    # the named leaders are the certified set's first, and a certified set is what the ranking starts with
    for claim, explanation in zip(audio, explanations):
        record = explanation.metadata["certification"]["labels"][str(label)]["audio"]
        assert claim.top_set == frozenset(record["ranking"][:record["certified_top_k"]])
        assert set(claim.named) <= claim.top_set and len(claim.named) == min(3, len(claim.top_set))
        assert [len(s) for s in claim.certified_sets] == record["certified_sets"]


def test_sets_that_do_not_nest_fail_the_verdict(seeds, tmp_path):
    """A seed whose certified top 2 swaps the runner-up for a feature outside the others' sets: one of the
    claims is wrong, the pairs with it fail, and the verdict says not stable."""
    first = load_explanation(seeds[0])
    label = explained_label(first)
    ranking = first.metadata["certification"]["labels"][str(label)]["audio"]["ranking"]
    swapped = [ranking[0], ranking[5], ranking[1], *ranking[2:5], *ranking[6:]]
    other = edited(seeds[1], tmp_path / "swapped.json", "audio", {"ranking": swapped, "certified_top_k": 2,
                                                                    "certified_sets": [2], "method": "holm"})
    third = load_explanation(seeds[2])
    metrics = claim_stability([first, other, third], label)
    # 3 pairs x 2 modalities; the swapped seed's audio set fails against both others: 4 of 6 nest
    assert metrics["claims_sets_nested"] == pytest.approx(4 / 6)
    [stable] = [v for v in verdicts(metrics) if v.check == "stability"]
    assert not stable.passed and "certified sets nested 0.67" in stable.evidence


def test_an_order_contradicted_by_another_seeds_set_fails(seeds, tmp_path):
    """One seed certifies ranks 1-3 in order (its top 2 is {a, b}); another certifies the set {a, c}:
    the sets {a, b} and {a, c} do not nest, although {a, c} lies inside the first seed's top 3."""
    first = edited(seeds[0], tmp_path / "ordered.json", "audio", {"certified_top_k": 3, "certified_sets": [1, 2, 3],
                                                                  "method": "sequential"})
    label = explained_label(first)
    a, b, c, *rest = first.metadata["certification"]["labels"][str(label)]["audio"]["ranking"]
    other = edited(seeds[1], tmp_path / "set.json", "audio", {"ranking": [a, c, b, *rest], "certified_top_k": 2,
                                                              "certified_sets": [2], "method": "holm"})
    assert claim_stability([first, other], label)["claims_sets_nested"] == pytest.approx(1 / 2)  # lyrics still nest


def test_leaders_named_by_one_page_must_be_certified_by_the_other(seeds, tmp_path):
    first = load_explanation(seeds[0])
    label = explained_label(first)
    ranking = first.metadata["certification"]["labels"][str(label)]["audio"]["ranking"]
    # the other seed certifies a single, different leader: its set {x} and the first's top set do not nest,
    # and neither page's leaders are all certified by the other
    other = edited(seeds[1], tmp_path / "other.json", "audio", {"ranking": [ranking[-1], *ranking[:-1]],
                                                                "certified_top_k": 1, "certified_sets": [1]})
    metrics = claim_stability([first, other], label)
    assert metrics["claims_leaders_agree"] == pytest.approx(1 / 2) and metrics["claims_sets_nested"] == 0.5
    # a page that names nobody (nothing certified) agrees with any
    silent = edited(seeds[1], tmp_path / "silent.json", "audio", {"certified_top_k": 0, "certified_sets": []})
    assert claim_stability([first, silent], label)["claims_leaders_agree"] == 1.0


def test_shares_must_agree(seeds, tmp_path):
    first = load_explanation(seeds[0])
    label = explained_label(first)
    attribution = first.metadata["modality_attribution"]["labels"][str(label)]
    audio, lyrics = float(attribution["audio"]), float(attribution["lyrics"])
    moved = edited(seeds[1], tmp_path / "moved.json",
                   attribution={"audio": audio * 2, "audio_share": 2 * abs(audio) / (2 * abs(audio) + abs(lyrics))})
    assert claim_stability([first, moved], label)["claims_shares_agree"] == 0.0
    same = edited(seeds[1], tmp_path / "same.json", attribution={"audio": audio + 1e-6})
    assert claim_stability([first, same], label)["claims_shares_agree"] == 1.0
