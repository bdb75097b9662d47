# Model inference: one batched pass over the masks per (song, separation, masks, model), after the
# song's coalitions (the exact coarse attribution: once per song, separation, model and lyric unit, for
# every mask seed). Heavy stages: a warm model worker runs them and keeps the model for the next job
# (see common.smk).


rule attribute:
    input:
        stems=PATHS.stems,
        lyrics=lambda wildcards: PLAN.lyrics_file(PLAN.songs[wildcards.song]),
        model=lambda wildcards: stage_slice("model", wildcards.model)["requires"],
    output:
        coalitions=PATHS.coalitions,
        config=f"{PATHS.song_dir}/{{sep}}/coalitions-{{unit}}/{{model}}/config.yaml",
    params:
        model=lambda wildcards: stage_slice("model", wildcards.model),
    log:
        "logs/attribute/{song}/{sep}/{unit}/{model}.log",
    threads: COMPUTE["threads"]
    resources:
        mem_mb=COMPUTE["predict_mem_mb"],
        runtime=30,
        gpu=COMPUTE["gpu"],
    run:
        run_heavy_stage(log[0], stages.attribute, input.stems, input.lyrics, wildcards.unit, params.model,
                        output.coalitions, output.config, threads=threads, model=params.model,
                        job=f"rule attribute, song {wildcards.song}, model {wildcards.model}")


rule predict:
    input:
        stems=PATHS.stems,
        masks=PATHS.masks,
        lyrics=lambda wildcards: PLAN.lyrics_file(PLAN.songs[wildcards.song]),
        coalitions=coalitions_file,
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
        run_heavy_stage(log[0], stages.predict, input.stems, input.masks, input.lyrics, input.coalitions,
                        params.model, output.predictions, output.config, threads=threads, model=params.model,
                        job=f"rule predict, song {wildcards.song}, model {wildcards.model}")
