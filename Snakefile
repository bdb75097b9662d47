# MusicLIME workflow: separate -> perturb -> predict -> fit -> media, evaluate -> reports -> track
# (model=fusion: embed -> train_head first, the detector the predictions explain).
#   snakemake --cores 2                                   # the demo, end to end
#   snakemake --cores 4 --config experiment=kernel_sweep  # a named experiment (conf/experiment/)
#   snakemake --cores 4 --config 'overrides=["explain.kernel_width=5,25,50"]'
from pathlib import Path

from snakemake.utils import min_version

from musiclime.pipeline.snakemake_setup import plan_from_snakemake_config

min_version("9.0")


# a cluster job reads the songs as the main process checked them (musiclime.pipeline.checked_sheet)
PLAN = plan_from_snakemake_config(config, conf_dir=Path(workflow.basedir) / "conf",
                                  cluster_job=bool(workflow.remote_exec))


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/detector.smk"
include: "workflow/rules/separate.smk"
include: "workflow/rules/perturb.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/media.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/batch.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/track.smk"


rule all:
    input:
        all_targets(),
    default_target: True
