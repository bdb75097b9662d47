"""Benchmark: train the default demo classifier into a temporary folder; print wall time and accuracy.

Usage: python benchmarks/bench_demo_training.py [--threads N] [--seed S]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

from musiclime.demo.training import train_demo_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        metrics = train_demo_model(out, seed=args.seed, threads=args.threads)
        wall = time.perf_counter() - started
    print(f"training songs        {metrics['n_train']} x {metrics['duration_s']:.0f} s, {metrics['epochs']} epochs, "
          f"{args.threads} threads")
    print(f"training time         {metrics['train_time_s']:.1f} s (synthesis + fit)")
    print(f"total wall time       {wall:.1f} s (with held-out synthesis and evaluation)")
    print(f"held-out accuracy     {metrics['accuracy']:.3f} on {metrics['n_test']} fresh songs of "
          f"{metrics['test_duration_s']:.0f} s")
    print(f"  audio only          {metrics['audio_only_accuracy']:.3f}")
    print(f"  lyrics only         {metrics['lyrics_only_accuracy']:.3f}")
    print("mean P(own class)     all / audio only / lyrics only")
    for style in ("ai", "human"):
        key = f"p_{style}_on_{style}"
        print(f"  {style:<6}              {metrics[key]:.3f} / {metrics['audio_only_' + key]:.3f} / "
              f"{metrics['lyrics_only_' + key]:.3f}")
    print(f"  human, vocals off   {metrics['no_vocals_p_human_on_human']:.3f}")


if __name__ == "__main__":
    main()
