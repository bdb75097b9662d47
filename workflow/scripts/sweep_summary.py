"""Rule sweep_summary: every point's summary -> one table for the sweep."""
from pathlib import Path

from musiclime import reporting
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
summaries = {Path(path).parent.name: path for path in snakemake.input.summaries}
reporting.write_sweep_summary(summaries, snakemake.params.overrides, snakemake.output.summary)
