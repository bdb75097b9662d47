"""Rule train_demo_model: train the demo classifier on a synthesized corpus."""
from pathlib import Path

from musiclime.demo import train_demo_model
from musiclime.pipeline.snakemake_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
train = snakemake.params.train
train_demo_model(Path(snakemake.output.weights).parent, seed=train["seed"], threads=snakemake.threads,
                 **train.get("kwargs", {}))
