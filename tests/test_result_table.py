"""One Parquet table per sweep point: a row per song and feature, read with pandas or DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musiclime.common.errors import MusicLimeError
from musiclime.evidence.claims import page_claims
from musiclime.evidence.result_table import BASE_COLUMNS, load_point_table, write_point_table
from musiclime.evidence.trust import verdicts
from musiclime.method.explanation import load_explanation
from musiclime.method.explanation_views import explained_label, reader_weights

from .evidence_helpers import explain_song, separate_song, write_song


@pytest.fixture(scope="module")
def point(tmp_path_factory):
    """Two glass-box songs (lyric words: their rankings are judged) and an evaluation of the first."""
    root = tmp_path_factory.mktemp("table")
    explanations = []
    for i in range(2):
        song = write_song(root / "songs", f"s{i}", seed=i)
        stems = separate_song(song, root / f"sep{i}")
        explanations.append(explain_song(song, stems, root / f"s{i}" / "explanation.json", seed=i, num_samples=600,
                                         lyrics_unit="word"))
    metrics = {"jaccard_top5": 0.8, "deletion_aopc": 0.3, "random_deletion_aopc": 0.1, "n_seeds": 3}
    evaluations = []
    for i, path in enumerate(explanations):
        document = {"metrics": {**metrics, "jaccard_top5": 0.8 - 0.5 * i},
                    "verdicts": [v.as_dict() for v in verdicts({**metrics, "jaccard_top5": 0.8 - 0.5 * i})]}
        evaluations.append(path.parent / "evaluation.json")
        evaluations[-1].write_text(json.dumps(document))
    return root, explanations, evaluations


def test_a_row_per_song_and_feature_with_what_the_pages_show(point):
    root, explanations, evaluations = point
    out = write_point_table(explanations, evaluations, root / "points" / "p0" / "explanations.parquet", "p0")
    table = load_point_table(out)
    assert list(table.columns[:len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    for path in explanations:
        explanation = load_explanation(path)
        label = explained_label(explanation)
        rows = table[table.song_id == explanation.metadata["song_info"]["song_id"]]
        assert len(rows) == len(explanation.features) and set(rows.point) == {"p0"}
        weights, full = reader_weights(explanation, label)
        assert full and rows.set_index("column").weight.to_dict() == pytest.approx(dict(enumerate(weights)))
        claims = page_claims(explanation, label)
        for modality, claim in claims.modalities.items():
            part = rows[rows.modality == modality]
            assert set(part.column[part.in_certified_set]) == set(claim.top_set)
            assert sorted(part["rank"]) == list(range(1, len(part) + 1))
        exact = explanation.metadata["modality_attribution"]["labels"][str(label)]
        assert rows.exact_audio.tolist() == pytest.approx([exact["audio"]] * len(rows))
    first, second = (table[table.song_id == s] for s in ("s0", "s1"))
    assert set(first.trust_jaccard_top5) == {0.8} and set(first.passes_stability) == {True}
    assert set(second.passes_stability) == {False}
    assert str(table.true_label.dtype) == "Int64" and table.repeats.isna().all()  # words carry no count


def test_tables_of_every_point_load_together_and_duckdb_reads_them(point):
    import duckdb  # the test extra installs it
    root, explanations, evaluations = point
    for name, evaluated in (("p1", evaluations), ("p2", [])):
        write_point_table(explanations, evaluated, root / "results" / "points" / name / "explanations.parquet", name)
    both = load_point_table(root / "results")
    assert set(both.point) == {"p1", "p2"} and len(both) == 2 * len(load_point_table(root / "results/points/p1"))
    assert both[both.point == "p2"].trust_jaccard_top5.isna().all()  # the second point evaluated nothing
    pattern = str(root / "results" / "points" / "*" / "explanations.parquet")
    counts = duckdb.sql(f"SELECT point, modality, count(*) AS n, sum(in_certified_set::INT) AS certified "
                        f"FROM read_parquet('{pattern}', union_by_name=true) GROUP BY ALL ORDER BY ALL").fetchall()
    assert [row[:2] for row in counts] == [("p1", "audio"), ("p1", "lyrics"), ("p2", "audio"), ("p2", "lyrics")]
    assert counts[0][2] == (both[(both.point == "p1") & (both.modality == "audio")]).shape[0]


def test_a_folder_without_a_table_is_named(tmp_path):
    with pytest.raises(MusicLimeError, match=str(tmp_path)):
        load_point_table(tmp_path)


def test_the_table_is_written_whole_or_not_at_all(point, tmp_path):
    root, explanations, _ = point
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    out = tmp_path / "explanations.parquet"
    with pytest.raises(Exception):
        write_point_table([explanations[0], broken], [], out, "p")
    assert not out.exists() and not list(tmp_path.glob("*.parquet*"))
