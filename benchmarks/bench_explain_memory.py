"""Peak memory and time of one explanation: 60 s of audio, 2000 samples (issue: < 1.5 GB peak).

Run: ``python benchmarks/bench_explain_memory.py [--seconds 60] [--num-samples 2000] [--batch-size 32]``.
The seed composed every perturbed waveform before one predict call: num_samples x L float32
(for 60 s at 22.05 kHz and 2000 samples: 2000 x 1,323,000 x 4 B = 10.6 GB) plus the model's copies.
This benchmark streams, so its peak is O(batch_size x L).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from musiclime import LineIndexedString, MusicLIMEExplainer, StemFactorization


def spectral_model(texts, audios):
    """A realistic-cost classifier: log-magnitude STFT of each waveform (torch), pooled to 2 classes."""
    feats = np.empty(audios.shape[0])
    with torch.no_grad():
        for i in range(0, audios.shape[0], 4):  # the model's own micro-batches keep its STFTs small
            x = torch.from_numpy(audios[i:i + 4])
            spec = torch.stft(x, n_fft=1024, hop_length=512, window=torch.hann_window(1024), return_complex=True)
            feats[i:i + 4] = torch.log1p(spec.abs()).mean(dim=(1, 2)).numpy()
    lyric_len = np.array([len(t) for t in texts]) / 1000.0
    logits = np.stack([np.zeros_like(feats), feats * 3 + lyric_len - 1.0], axis=1)
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sample-rate", type=int, default=22050)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    length = int(args.seconds * args.sample_rate)
    stems = {name: (0.1 * rng.standard_normal(length)).astype(np.float32)
             for name in ("vocals", "drums", "bass", "other")}
    lyrics = "\n".join(f"line number {i} of the song" for i in range(16))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    fact = StemFactorization(stems, sample_rate=args.sample_rate, temporal_segments=10)
    explainer = MusicLIMEExplainer(random_state=0, batch_size=args.batch_size, progress=False)
    exp = explainer.explain_instance_with_factorization(fact, LineIndexedString(lyrics), spectral_model,
                                                        num_samples=args.num_samples, labels=(1,))
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seed_bytes = args.num_samples * length * 4 / 1e9
    print(f"audio {args.seconds:.0f} s @ {args.sample_rate} Hz, {args.num_samples} samples, batch {args.batch_size}")
    print(f"time: {elapsed:.1f} s (predict {exp.metadata['timings_s']['predict']:.1f} s, "
          f"fit {exp.metadata['timings_s']['fit']:.2f} s), model calls {exp.metadata['model_calls']}")
    print(f"peak RSS: {peak:.0f} MB (before explaining: {rss_before:.0f} MB)")
    print(f"the seed's all-in-memory waveforms alone would take {seed_bytes:.1f} GB")


if __name__ == "__main__":
    main()
