"""Rule evaluate: explanation + stems + comparison explanations + model -> evaluation.json."""
from musiclime.pipeline import stages
from musiclime.pipeline.snakemake_setup import start_script_job

start_script_job(snakemake.log[0])
randomized = {name[len("randomized_"):]: [paths] if isinstance(paths, str) else list(paths)
              for name, paths in snakemake.input.items() if name.startswith("randomized_")}
stages.evaluate(snakemake.input.explanation, snakemake.input.stems, list(snakemake.input.seeds),
                randomized, snakemake.params.model, snakemake.params.evaluation,
                snakemake.output.evaluation, snakemake.output.config)
