"""Rule separate: one song -> its sources (stems.npz)."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import start_script_job

start_script_job(snakemake.log[0])
stages.separate(snakemake.params.song, snakemake.params.separation, snakemake.output.stems, snakemake.output.config)
