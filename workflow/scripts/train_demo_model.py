"""Rule train_demo_model: train the demo classifier on a synthesized corpus."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import start_script_job

start_script_job(snakemake.log[0])
stages.train_demo_model(snakemake.output.weights, snakemake.params.train, snakemake.threads)
