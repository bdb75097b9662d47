# Perturbation masks: depend on feature counts, num_samples, sampler, seed and modality.


rule perturb:
    input:
        stems=PATHS.stems,
        lyrics=lambda wildcards: str(PLAN.songs[wildcards.song].lyrics),
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
    conda:
        "../../environment.yml"
    script:
        "../scripts/perturb.py"
