"""Rule demo_songs: synthesize the demo songs, their stems and lyrics, and the sample sheet."""
from musiclime.pipeline.demo_set import write_demo_songs
from musiclime.pipeline.snakemake_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
demo = snakemake.params.demo
write_demo_songs(snakemake.output.sheet, demo["n_songs"], demo["duration_s"], demo["seed"])
