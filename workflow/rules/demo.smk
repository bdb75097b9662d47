# Generated inputs: the demo songs (synthesized from known stems) and the trained demo classifier.
import re

DEMO_MODELS = PLAN.demo_models()

if DATA["demo"] is not None:

    rule demo_songs:
        output:
            sheet=DATA["sample_sheet"],
            audio=[str(s.audio) for s in PLAN.songs.values()],
            lyrics=[str(s.lyrics) for s in PLAN.songs.values()],
            # known evidence of each song, where the demo set announces it (musiclime.pipeline.demo_set)
            ground_truth=[str(s.ground_truth) for s in PLAN.songs.values() if s.ground_truth is not None],
        params:
            demo=DATA["demo"],
        log:
            "logs/demo_songs.log",
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../../environment.yml"
        script:
            "../scripts/demo_songs.py"


if DEMO_MODELS:

    rule train_demo_model:
        output:
            weights="{weights_dir}/model.pt",
            config="{weights_dir}/config.json",
            metrics="{weights_dir}/metrics.json",
        params:
            train=lambda wildcards: DEMO_MODELS[wildcards.weights_dir],
        log:
            "logs/train_demo_model/{weights_dir}.log",
        threads: 2
        resources:
            mem_mb=4000,
            runtime=30,
        wildcard_constraints:
            weights_dir="|".join(re.escape(d) for d in DEMO_MODELS),
        conda:
            "../../environment.yml"
        script:
            "../scripts/train_demo_model.py"
