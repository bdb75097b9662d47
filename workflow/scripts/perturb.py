"""Rule perturb: components + lyrics -> perturbation masks (masks.npz)."""
from musiclime import stages
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.perturb(snakemake.input.stems, snakemake.input.lyrics, snakemake.params.masks, snakemake.wildcards.song,
               snakemake.output.masks, snakemake.output.config)
