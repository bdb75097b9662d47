# A fusion detector (model=fusion): each labelled song embedded once per encoder config, then the head trained
# on the embeddings (musiclime.pipeline.detector_plan). The predict jobs read the head through model.requires.
# With compute.songs_per_job > 0 the embeddings are made by batch jobs (embed_batch), as the explanations are.
import re


if PLAN.detectors.tiny:

    rule tiny_encoder:
        output:
            folder=directory("{folder}"),
        params:
            kind=lambda wildcards: PLAN.detectors.tiny[wildcards.folder],
        log:
            "logs/tiny_encoder/{folder}.log",
        resources:
            mem_mb=1000,
            runtime=5,
        wildcard_constraints:
            folder="|".join(re.escape(f) for f in PLAN.detectors.tiny),
        run:
            run_stage(log[0], stages.build_tiny_encoder, params.kind, output.folder)


if PLAN.detectors.heads:

    rule embed:
        input:
            unpack(embed_inputs),
        output:
            embedding=f"{RESULTS}/songs/{{song}}/embeddings/{{encoder}}/embedding.npz",
            config=f"{RESULTS}/songs/{{song}}/embeddings/{{encoder}}/config.yaml",
        params:
            encoder=lambda wildcards: PLAN.detectors.encoders[wildcards.encoder],
            device=COMPUTE["device"],
        log:
            "logs/embed/{song}/{encoder}.log",
        threads: COMPUTE["threads"]
        resources:
            mem_mb=COMPUTE["predict_mem_mb"],
            runtime=30,
            gpu=COMPUTE["gpu"],
        wildcard_constraints:
            encoder=r"(audio|lyrics)-[^/]+",
        run:
            run_heavy_stage(log[0], stages.embed, wildcards.song, input.song, params.encoder, params.device,
                            output.embedding, output.config, threads=threads,
                            job=f"rule embed, song {wildcards.song}, encoder {wildcards.encoder}")

    if PLAN.songs_per_job:

        rule embed_batch:
            input:
                unpack(embed_batch_inputs),
            output:
                manifest=f"{RESULTS}/detectors/embeddings/{{encoder}}/batches/{{batch}}.json",
            log:
                "logs/embed_batch/{encoder}/{batch}.log",
            threads: COMPUTE["threads"]
            resources:
                mem_mb=COMPUTE["predict_mem_mb"],
                runtime=60 * 12,
                gpu=COMPUTE["gpu"],
            wildcard_constraints:
                encoder=r"(audio|lyrics)-[^/]+",
            run:
                run_heavy_stage(log[0], stages.song_batch,
                                PLAN.embedding_steps(wildcards.encoder, wildcards.batch, COMPUTE["device"]),
                                output.manifest, threads=threads,
                                job=f"rule embed_batch, encoder {wildcards.encoder}, batch {wildcards.batch}")

    rule train_head:
        input:
            audio=lambda wildcards: head_embeddings(wildcards.detector, "audio"),
            lyrics=lambda wildcards: head_embeddings(wildcards.detector, "lyrics"),
        output:
            head=f"{RESULTS}/detectors/{{detector}}/head.pt",
            head_json=f"{RESULTS}/detectors/{{detector}}/head.json",
            metrics=f"{RESULTS}/detectors/{{detector}}/metrics.json",
            config=f"{RESULTS}/detectors/{{detector}}/config.yaml",
        params:
            detector=lambda wildcards: PLAN.detectors.heads[wildcards.detector],
        log:
            "logs/train_head/{detector}.log",
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        wildcard_constraints:
            detector="|".join(re.escape(k) for k in PLAN.detectors.heads),
        run:
            run_stage(log[0], stages.train_head, PLAN.detectors.embedding_files(wildcards.detector, "audio"),
                      PLAN.detectors.embedding_files(wildcards.detector, "lyrics"), params.detector, output.head,
                      output.config)
