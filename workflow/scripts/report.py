"""Rule report: explanations of one sweep point -> summary.tsv, report.html and the point's config."""
from musiclime import reporting
from musiclime.artifacts import write_config
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
config = snakemake.params.config
reporting.write_point_report(list(snakemake.input.explanations), list(snakemake.input.plots), config,
                             snakemake.output.summary, snakemake.output.html, config["report"]["num_features"])
write_config(snakemake.output.config, {"overrides": list(snakemake.params.overrides), **config})
