"""Encoder calls, seconds and peak memory of one explanation of the paper's detector size.

The detector is ``model=fusion`` at the MusicLIME paper's size: an Audio Spectrogram Transformer base
(``ASTConfig()`` defaults: 12 layers, hidden 768, 1024 frames x 128 mel bins, about 86 M parameters) and
RoBERTa-large (24 layers, hidden 1024, about 355 M parameters), built from their configs with random weights
(the same compute as the released ones; nothing is downloaded), saved with ``save_pretrained`` and loaded by
the workflow's own loading code (:mod:`musiclime.models.fusion.loading`), with a head trained on random
embeddings. The song is 20 s of noise stems (4 sources x 10 segments = 40 audio features) with 16 distinct
lyric lines.

Per sampler and sample count, the late-fusion path scores every mask row (each distinct audio and lyrics
input encoded once); the plain path, which encodes both inputs of every row, is timed on its first
``--plain-rows`` rows and extrapolated linearly (its encoder items are exactly 2 per row). Each setting runs in a
fresh process, so its peak RSS is its own.

    PYTHONPATH=src python benchmarks/bench_fusion_paper_size.py --workdir /tmp/paper \
        --settings factorial=300 factorial=1000 random=300 [--plain-rows 6] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import LYRICS, hardware, stem_factorization  # noqa: E402

SONG_SECONDS = 20.0
KINDS = {"audio": "ast-base", "lyrics": "roberta-large"}


def build_encoders(workdir: Path) -> dict[str, dict]:
    """Paper-size encoders saved under ``workdir`` (built once), as ``model.audio``/``model.lyrics`` settings."""
    from musiclime.models.fusion import build_paper_size_encoder

    settings = {}
    for modality, paper in KINDS.items():
        folder = workdir / paper
        if not (folder / "config.json").is_file():  # built aside and renamed in: a folder is whole or absent
            build_paper_size_encoder(paper, folder)
        settings[modality] = {"encoder": str(folder), "pooling": "mean", "layer": -1, "batch_size": 8,
                              "trust_remote_code": False, **({"chunk_seconds": None} if modality == "audio" else
                                                             {"max_tokens": None, "long_lyrics": "chunk"})}
    return settings


def build_head(workdir: Path, settings: dict) -> Path:
    """A head trained on random embeddings of the encoders' sizes (its cost is negligible either way)."""
    from musiclime.models.fusion import HeadConfig, train_detector_head
    from musiclime.models.fusion.detector import cached_encoders

    folder = workdir / "head"
    if (folder / "head.pt").is_file():
        return folder
    audio, lyrics = cached_encoders(settings["audio"], settings["lyrics"], "cpu")
    rng = np.random.default_rng(0)
    n = 24
    train_detector_head(rng.standard_normal((n, audio.dim)).astype(np.float32),
                        rng.standard_normal((n, lyrics.dim)).astype(np.float32), np.arange(n) % 2,
                        [f"s{i}" for i in range(n)], HeadConfig.from_dict({"epochs": 5}), folder)
    return folder


def run_one(workdir: Path, sampler: str, num_samples: int, plain_rows: int, device: str) -> dict:
    """One setting in this process: the late-fusion path on every row, the plain path on ``plain_rows`` rows."""
    from musiclime.factorization.lyrics import make_text_factorization
    from musiclime.method.estimation.sampling import sample_masks
    from musiclime.method.modality import FeatureLayout
    from musiclime.method.scoring.inference import predict_masks
    from musiclime.models.fusion import load_fusion_predict_fn

    settings = json.loads((workdir / "settings.json").read_text())
    start = time.perf_counter()
    detector = load_fusion_predict_fn(settings["audio"], settings["lyrics"], str(workdir / "head"), 22050, device)
    load_seconds = time.perf_counter() - start
    fact = stem_factorization(SONG_SECONDS)
    text = make_text_factorization(LYRICS, "distinct_line")
    layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
    masks = sample_masks(num_samples, layout.num_features, 0, sampler, audio_columns=layout.n_audio)
    fused = predict_masks(fact, text, masks, layout, detector, batch_size=8, progress=False)
    costs = fused.costs()
    items = costs["audio_encodings"] + costs["lyric_encodings"]
    plain_fn = lambda texts, audios: detector(texts, audios)  # noqa: E731 (no protocol: every row encoded)
    plain = predict_masks(fact, text, masks[:plain_rows], layout, plain_fn, batch_size=8, progress=False)
    per_row = plain.seconds / plain_rows
    return {"sampler": sampler, "num_samples": len(masks), "device": device, "load_seconds": load_seconds,
            "audio_encodings": costs["audio_encodings"], "lyric_encodings": costs["lyric_encodings"],
            "encoder_items": items, "late_fusion_seconds": fused.seconds,
            "plain_encoder_items": 2 * len(masks), "plain_seconds_per_row": per_row,
            "plain_seconds_extrapolated": per_row * len(masks), "plain_rows_timed": plain_rows,
            "fewer_items": 2 * len(masks) / items,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--settings", nargs="+", default=["factorial=300", "factorial=1000", "random=300"],
                        help="sampler=num_samples per explanation")
    parser.add_argument("--plain-rows", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # sampler=num_samples, in a child process
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.one:
        sampler, count = args.one.split("=")
        print("RESULT " + json.dumps(run_one(args.workdir, sampler, int(count), args.plain_rows, args.device)))
        return 0
    settings = build_encoders(args.workdir)
    (args.workdir / "settings.json").write_text(json.dumps(settings))
    build_head(args.workdir, settings)
    rows = []
    for setting in args.settings:
        child = subprocess.run([sys.executable, __file__, "--workdir", str(args.workdir), "--one", setting,
                                "--plain-rows", str(args.plain_rows), "--device", args.device],
                               capture_output=True, text=True, check=False)
        line = next((l for l in child.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(child.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(line[len("RESULT "):]))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{hardware()}\n")
    print("| sampler | samples | audio + lyrics encodings | plain path items | fewer | late fusion s | "
          "plain s (extrapolated) | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['sampler']}` | {r['num_samples']:,} | {r['audio_encodings']} + {r['lyric_encodings']} | "
              f"{r['plain_encoder_items']:,} | {r['fewer_items']:.0f}x | {r['late_fusion_seconds']:.0f} | "
              f"{r['plain_seconds_extrapolated']:.0f} | {r['peak_rss_mib']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
