# With compute.songs_per_job > 0: one job per batch of songs and sweep point, in place of the per-song
# jobs (separate, perturb, attribute, predict, fit, song_media, song_mix, evaluate). The job runs each song's steps
# in turn, skipping the current ones, in a warm model worker (musiclime.pipeline.song_batches).


rule song_batch:
    input:
        unpack(batch_inputs),
    output:
        manifest=f"{RESULTS}/points/{{point}}/batches/{{batch}}.json",
    log:
        "logs/song_batch/{point}/{batch}.log",
    threads: COMPUTE["threads"]
    resources:
        mem_mb=max(COMPUTE["separate_mem_mb"], COMPUTE["predict_mem_mb"]),
        runtime=60 * 24,
        gpu=COMPUTE["gpu"],
    run:
        run_heavy_stage(log[0], stages.song_batch, PLAN.batch_steps(wildcards.point, wildcards.batch),
                        output.manifest, threads=threads, **batch_job(wildcards))
