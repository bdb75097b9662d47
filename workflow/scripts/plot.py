"""Rule plot: explanation.json -> bar chart of the top features (PNG)."""
from musiclime import reporting
from musiclime.workflow_setup import configure_script_logging

configure_script_logging(snakemake.log[0])
reporting.plot_explanation(snakemake.input.explanation, snakemake.output.plot, snakemake.params.num_features)
