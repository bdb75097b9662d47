"""Rule demo_songs: synthesize the demo songs, their stems and lyrics, and the sample sheet."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import start_script_job

start_script_job(snakemake.log[0])
stages.synthesize_demo_songs(snakemake.output.sheet, snakemake.params.demo)
