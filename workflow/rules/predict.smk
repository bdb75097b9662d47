# Model inference: one batched pass over the masks per (song, separation, masks, model).


rule predict:
    input:
        stems=PATHS.stems,
        masks=PATHS.masks,
        lyrics=lambda wildcards: str(PLAN.songs[wildcards.song].lyrics),
        model=lambda wildcards: stage_slice("model", wildcards.model)["requires"],
    output:
        predictions=PATHS.predictions,
        config=f"{PATHS.song_dir}/{{sep}}/{{masks}}/{{model}}/config.yaml",
    params:
        model=lambda wildcards: stage_slice("model", wildcards.model),
    log:
        "logs/predict/{song}/{sep}/{masks}/{model}.log",
    threads: COMPUTE["threads"]
    resources:
        mem_mb=COMPUTE["predict_mem_mb"],
        runtime=60,
        gpu=COMPUTE["gpu"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/predict.py"
