"""Wall time of an explanation when the lyrics encoder costs what real ones cost (BERT-base on the CPU).

The model is the trained demo model with a second lyrics encoder beside its own: a BERT-base
(``transformers.BertConfig()``: 12 layers, hidden size 768, about 110 M parameters), randomly
initialised (nothing is downloaded) and fed word ids hashed into its vocabulary. Its pooled
``[CLS]`` output moves the demo head's class-1 logit by at most ``BERT_LOGIT_SCALE`` (through a fixed
random read-out), so the BERT's output is used, while the explanations stay those of the demo
model: their stability per sampler is what ``bench_samplers.py`` measures. Each row of the table
is one explanation (mask seed 0): encoder items, seconds, and whether its top-5 features equal the
demo model's on the same masks.

    PYTHONPATH=src python benchmarks/bench_expensive_lyrics.py --workdir DIR \
        --counts random=1000 factorial_paired+stop=90000 [--songs demo00_ai]

Uses ``transformers`` (a core dependency).
"""

from __future__ import annotations

import argparse
import csv
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from bench_samplers import RULE, STOP_SUFFIX, song_inputs, surrogate_weights, top_features
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.method.scoring.rounds import score_masks
from musiclime.method.estimation.sampling import sample_masks
from musiclime.models.demo_classifier import DemoPredictor, load_demo_predict_fn

#: Largest change of the class-1 logit that the BERT's output can make.
BERT_LOGIT_SCALE = 0.05
#: Word ids per lyrics text given to BERT (the demo songs' lyrics stay below it).
MAX_TOKENS = 256
CLS_ID, SEP_ID, PAD_ID, FIRST_WORD_ID = 101, 102, 0, 1000


class BertLyricsDemoModel:
    """The demo model with a BERT-base lyrics encoder beside its own (a late-fusion model).

    ``encode_lyrics`` returns ``(batch, d_demo + 768)``: the demo lyrics embedding and BERT's pooled
    output; ``fuse`` shifts the demo head's class-1 logit by ``BERT_LOGIT_SCALE * tanh(pooled @ r)``.
    """

    def __init__(self, demo: DemoPredictor, seed: int = 0, batch_size: int = 16):
        from transformers import BertConfig, BertModel

        torch.manual_seed(seed)
        self.config = BertConfig()
        self.bert = BertModel(self.config).eval()
        self.readout = torch.randn(self.config.hidden_size, dtype=torch.float64) / self.config.hidden_size**0.5
        self.demo = demo
        self.batch_size = batch_size
        self.sample_rate = demo.sample_rate
        self.torch_device = demo.torch_device
        self.demo_dim: int | None = None

    def word_ids(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, tokens)`` hashed word ids framed by [CLS] and [SEP], and the attention mask."""
        span = self.config.vocab_size - FIRST_WORD_ID
        rows = [[CLS_ID] + [FIRST_WORD_ID + zlib.crc32(w.lower().encode()) % span for w in text.split()]
                [:MAX_TOKENS - 2] + [SEP_ID] for text in texts]
        width = max(len(row) for row in rows)
        ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = torch.tensor(row)
        return ids, (ids != PAD_ID).long()

    def encode_audio(self, audios) -> torch.Tensor:
        return self.demo.encode_audio(audios)

    def encode_lyrics(self, texts: list[str]) -> torch.Tensor:
        own = self.demo.encode_lyrics(texts).double()
        self.demo_dim = own.shape[1]
        pooled = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                ids, attention = self.word_ids(texts[start:start + self.batch_size])
                pooled.append(self.bert(input_ids=ids, attention_mask=attention).pooler_output.double())
        return torch.cat([own, torch.cat(pooled)], dim=1)

    def fuse(self, audio_embedding: torch.Tensor, lyric_embedding: torch.Tensor) -> np.ndarray:
        d = lyric_embedding.shape[1] - self.config.hidden_size
        probs = torch.from_numpy(self.demo.fuse(audio_embedding, lyric_embedding[:, :d].float()))
        shift = BERT_LOGIT_SCALE * torch.tanh(lyric_embedding[:, d:] @ self.readout)
        logit = torch.logit(probs[:, 1].clamp(1e-12, 1 - 1e-12)) + shift
        p1 = torch.sigmoid(logit)
        return torch.stack([1 - p1, p1], dim=1).numpy()

    def __call__(self, texts: list[str], audios) -> np.ndarray:
        return self.fuse(self.encode_audio(audios), self.encode_lyrics(texts))


def explain_once(fact, text, layout, model, sampler: str, num_samples: int, label: int, seed: int = 0):
    """One explanation's masks, predictions and wall seconds (masks drawn, scored, fitted)."""
    start = time.perf_counter()
    name = sampler.removesuffix(STOP_SUFFIX)
    masks = sample_masks(num_samples, layout.num_features, seed, name, audio_columns=layout.audio_columns)
    result, _ = score_masks(fact, text, masks, layout, model, RULE if sampler.endswith(STOP_SUFFIX) else None, label,
                            name == "paired", batch_size=16, progress=False)
    masks = masks[:len(result.predictions)]
    weights = surrogate_weights(masks, result.predictions, label)
    return masks, result, weights, time.perf_counter() - start


def run(workdir: Path, counts: dict[str, tuple[int, ...]], only: list[str] | None, repeat: int = 1) -> list[dict]:
    """One row per (song, sampler, count, repeat); repeats alternate the configurations, so that
    their wall times share the machine's load."""
    demo = load_demo_predict_fn(str(workdir / "resources/models/demo"), batch_size=16)
    model = BertLyricsDemoModel(demo)
    rows = []
    for song in read_sample_sheet(workdir / "resources/demo/samples.tsv"):
        if only and song.song_id not in only:
            continue
        fact, text = song_inputs(workdir, song, 10)
        layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
        label = int(np.argmax(demo([text.inverse_removing([])], fact.mix[None])[0]))
        plan = [(name, n) for _ in range(repeat) for name, ns in counts.items() for n in ns]
        for sampler, num_samples in plan:
            masks, result, weights, seconds = explain_once(fact, text, layout, model, sampler, num_samples, label)
            demo_result = predict_masks(fact, text, masks, layout, demo, batch_size=16, progress=False)
            demo_top = top_features(surrogate_weights(masks, demo_result.predictions, label))
            rows.append({"song": song.song_id, "sampler": sampler, "num_samples": num_samples,
                         "samples_used": len(masks), "audio_encodings": result.audio_encodings,
                         "lyric_encodings": result.lyric_encodings, "seconds": round(seconds, 1),
                         "top5": sorted(top_features(weights)),
                         "top5_equals_demo_model": top_features(weights) == demo_top})
            print("\t".join(str(v) for v in rows[-1].values()), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--songs", nargs="*")
    parser.add_argument("--counts", nargs="+", metavar="SAMPLER=N,N", required=True)
    parser.add_argument("--repeat", type=int, default=1, help="measure every configuration this many times, "
                        "alternating them")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    counts = {name: tuple(int(n) for n in values.split(",")) for name, values in
              (item.split("=", 1) for item in args.counts)}
    rows = run(args.workdir, counts, args.songs, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "expensive_lyrics.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
