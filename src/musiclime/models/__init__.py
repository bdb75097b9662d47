"""Classifiers behind the ``predict_fn(texts, audios) -> probabilities`` contract.

``glassbox`` holds a model whose attributions are known analytically (tests, evaluation);
``demo_classifier`` the trained multimodal demo model; ``fusion`` detectors from pretrained encoders
with a head the workflow trains (``model=fusion``).
"""
