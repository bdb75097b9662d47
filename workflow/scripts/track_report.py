"""Rule track_report: a sweep point's summary, HTML report and config -> artifacts of the parent run."""
from musiclime import stages
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.track_report(snakemake.input.parent, snakemake.params.tracking, snakemake.wildcards.point,
                    [snakemake.input.summary, snakemake.input.html, snakemake.input.config], snakemake.output.marker)
