"""Rule demo_songs: synthesize the demo songs, their stems and lyrics, and the sample sheet."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.synthesize_demo_songs(snakemake.output.sheet, snakemake.params.demo)
