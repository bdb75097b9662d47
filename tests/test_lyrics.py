import numpy as np
import pytest

from musiclime import (DistinctLineIndexedString, LineIndexedString, LyricsError, MusicLIMEExplainer,
                       SectionIndexedString, StemFactorization, WordIndexedString)
from musiclime.factorization.lyrics import make_text_factorization
from musiclime.method.explanation_views import lyric_lines_weighted, top_features
from musiclime.models.glassbox import GlassBoxModel


def test_lines_are_stripped_and_metadata_dropped(lyrics_text):
    text = LineIndexedString(lyrics_text)
    assert text.lines == ["first line of the verse", "second line with words", "sing the chorus loud",
                          "last line of the song"]
    assert text.num_words() == 4 and text.word(2) == "sing the chorus loud"


def test_line_removal_keeps_order(lyrics_text):
    text = LineIndexedString(lyrics_text)
    assert text.inverse_removing(np.array([0, 2])) == "second line with words\nlast line of the song"
    assert text.inverse_removing([]) == "\n".join(text.lines)


def test_word_variant_removes_every_occurrence():
    text = WordIndexedString("[Chorus]\nla la love\nlove me, la!\n")
    assert text.feature_names() == ["la", "love", "me"]
    assert text.inverse_removing([0]) == "love\nlove me, !"
    assert text.inverse_removing([1, 2]) == "la la\n, la!"
    assert text.inverse_removing([0, 1, 2]) == ", !"


def test_empty_lyrics_work_for_audio_and_fail_for_lyrical(factorization):
    empty = LineIndexedString("[Instrumental]\n\n")
    assert empty.num_words() == 0
    model = GlassBoxModel(factorization, {"drums_T1": 0.3})
    explainer = MusicLIMEExplainer(random_state=0, progress=False)
    exp = explainer.explain_instance_with_factorization(factorization, empty, model, num_samples=50, modality="audio")
    assert exp.get_explanation(1, 1)[0]["feature"] == "drums_T1"
    with pytest.raises(LyricsError, match="empty.*lyrical"):
        explainer.explain_instance_with_factorization(factorization, empty, model, num_samples=50, modality="lyrical")


CHORUS_SONG = """[Verse 1]
Walking down the road
La la, la la!

[Chorus]
Hold me now
la la la la

[Verse 2]
Walking  down the road.
Something new

[Chorus]
Hold me now
La la la la
"""


def test_distinct_lines_group_copies_ignoring_case_spacing_and_punctuation():
    text = DistinctLineIndexedString(CHORUS_SONG)
    assert text.feature_names() == ["Walking down the road", "La la, la la!", "Hold me now", "Something new"]
    assert [text.feature_details(i)["count"] for i in range(4)] == [2, 3, 2, 1]
    assert text.feature_details(1)["occurrences"] == [1, 3, 7]
    assert text.feature_details(1)["texts"] == ["La la, la la!", "la la la la", "La la la la"]
    # removing a distinct line removes every copy, the rest keeps its order and text
    assert text.inverse_removing([1]) == ("Walking down the road\nHold me now\nWalking  down the road.\n"
                                          "Something new\nHold me now")
    assert text.inverse_removing([]) == "\n".join(LineIndexedString(CHORUS_SONG).lines)


def test_sections_are_features_keyed_by_their_tag():
    text = SectionIndexedString(CHORUS_SONG)
    assert text.feature_names() == ["Verse 1", "Chorus", "Verse 2"]
    assert text.repeats(1) == 2 and text.feature_details(1)["count"] == 4
    assert text.inverse_removing([1]) == "Walking down the road\nLa la, la la!\nWalking  down the road.\nSomething new"
    untagged = SectionIndexedString("one\ntwo\n\nchorus line\n\nthree\n\nChorus line!\n")
    assert untagged.feature_names() == ["one", "chorus line", "three"]  # identical stanzas are one feature
    assert untagged.repeats(1) == 2 and untagged.inverse_removing([1]) == "one\ntwo\nthree"


def test_unknown_unit_names_the_choices():
    with pytest.raises(ValueError, match="distinct_line"):
        make_text_factorization("a", "syllable")


def test_a_repeated_planted_line_gets_its_weight_only_as_one_feature(factorization):
    """A model that hears a line if any copy is sung: per copy (unit ``line``) no single removal changes
    the score, so the copies share almost nothing; as one distinct line it gets the planted weight."""
    model = GlassBoxModel(factorization, {"drums_T1": 0.1}, {"Hold me now": 0.3}, bias=0.3)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, distance_scale=100)
    weights = {}
    for unit in ("line", "distinct_line"):
        text = make_text_factorization(CHORUS_SONG, unit)
        exp = explainer.explain_instance_with_factorization(factorization, text, model, num_samples=400, labels=(1,))
        lyric = [f for f in exp.get_explanation(1, 30) if f["type"] == "lyrics" and f["feature"] == "Hold me now"]
        weights[unit] = [f["weight"] for f in lyric]
    assert len(weights["distinct_line"]) == 1 and weights["distinct_line"][0] == pytest.approx(0.3, abs=0.03)
    assert all(w < 0.2 for w in weights["line"])
    record = [f for f in exp.features if f["feature"] == "Hold me now"][0]
    assert record["count"] == 2 and record["occurrences"] == [2, 6]


def test_grouped_lines_are_shown_line_by_line_with_their_feature(factorization):
    model = GlassBoxModel(factorization, {"drums_T1": 0.1}, {"Hold me now": 0.3}, bias=0.3)
    text = DistinctLineIndexedString(CHORUS_SONG)
    exp = MusicLIMEExplainer(random_state=0, progress=False).explain_instance_with_factorization(
        factorization, text, model, num_samples=200, labels=(1,))
    lines = lyric_lines_weighted(exp, 1)
    assert [line[0].text for line in lines] == text.lines
    assert [line[0].feature for line in lines] == ["L1 x2", "L2 x3", "L3 x2", "L2 x3", "L1 x2", "L6", "L3 x2", "L2 x3"]
    hold = [line[0].weight for line in lines if line[0].text == "Hold me now"]
    assert hold[0] == hold[1] != 0
    labels = {t["feature"]: t["label"] for t in top_features(exp, 1, 30) if t["type"] == "lyrics"}
    assert labels["Hold me now"] == "Hold me now (x2)" and labels["Something new"] == "Something new"
    # an explanation saved before the records carried occurrences is re-read from its lyrics
    for feature in exp.features:
        for key in ("count", "occurrences", "texts", "repeats"):
            feature.pop(key, None)
    assert [line[0].feature for line in lyric_lines_weighted(exp, 1, CHORUS_SONG)][:3] == ["L1 x2", "L2 x3", "L3 x2"]
