# Model inference: one batched pass over the masks per (song, separation, masks, model).
# A heavy stage: a warm model worker runs it and keeps the model for the next job (see common.smk).


rule predict:
    input:
        stems=PATHS.stems,
        masks=PATHS.masks,
        lyrics=lambda wildcards: PLAN.lyrics_file(PLAN.songs[wildcards.song]),
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
    run:
        run_heavy_stage(log[0], stages.predict, input.stems, input.masks, input.lyrics, params.model,
                        output.predictions, output.config, threads=threads, model=params.model,
                        job=f"rule predict, song {wildcards.song}, model {wildcards.model}")
