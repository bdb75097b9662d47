"""Rule predict: masks + components + lyrics + model -> predictions.npz (streamed in batches)."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.predict(snakemake.input.stems, snakemake.input.masks, snakemake.input.lyrics, snakemake.params.model,
               snakemake.output.predictions, snakemake.output.config)
