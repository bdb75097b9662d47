"""Rule track_parent: one MLflow parent run per workflow invocation (sweep)."""
from musiclime import stages
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
stages.track_parent(snakemake.params.tracking, snakemake.wildcards.sweep, snakemake.params.sweep_name,
                    list(snakemake.params.overrides), dict(snakemake.params.points), snakemake.output.parent)
