# Perturbation masks: depend on feature counts, num_samples, sampler, seed and modality.
# A cheap stage: it runs inside the Snakemake process (see common.smk).


rule perturb:
    input:
        stems=PATHS.stems,
        lyrics=lambda wildcards: PLAN.lyrics_file(PLAN.songs[wildcards.song]),
    output:
        masks=PATHS.masks,
        config=f"{PATHS.song_dir}/{{sep}}/{{masks}}/config.yaml",
    params:
        masks=lambda wildcards: stage_slice("masks", wildcards.masks),
    log:
        "logs/perturb/{song}/{sep}/{masks}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    run:
        run_stage(log[0], stages.perturb, input.stems, input.lyrics, params.masks, wildcards.song, output.masks,
                  output.config)
