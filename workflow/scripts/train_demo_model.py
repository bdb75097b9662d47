"""Rule train_demo_model: train the demo classifier on a synthesized corpus."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.train_demo_model(snakemake.output.weights, snakemake.params.train, snakemake.threads)
