"""Rule predict: masks + components + lyrics + model -> predictions.npz (streamed in batches)."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import start_script_job

start_script_job(snakemake.log[0])
stages.predict(snakemake.input.stems, snakemake.input.masks, snakemake.input.lyrics, snakemake.params.model,
               snakemake.output.predictions, snakemake.output.config)
