"""Rule fit: masks + predictions -> explanation.json (LIME surrogate)."""
from musiclime import stages
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.fit(snakemake.input.masks, snakemake.input.predictions, snakemake.params.fit, snakemake.params.song,
           snakemake.params.upstream, snakemake.output.explanation, snakemake.output.config)
