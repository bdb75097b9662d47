"""Rule track: one explanation -> one MLflow run (params, metrics, tags, ranking table, artifacts)."""
from musiclime import stages
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.track(snakemake.input.explanation, snakemake.input.plot, snakemake.input.config, snakemake.input.parent,
             snakemake.params.tracking, snakemake.params.point, list(snakemake.params.overrides),
             dict(snakemake.params.stage_keys), snakemake.params.config, snakemake.params.sweep_name,
             snakemake.output.run)
