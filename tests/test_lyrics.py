import numpy as np
import pytest

from musiclime import LineIndexedString, LyricsError, MusicLIMEExplainer, StemFactorization, WordIndexedString
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
