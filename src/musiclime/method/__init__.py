"""The MusicLIME method: perturb a song's components and lyrics, score the perturbations, fit a surrogate.

* :mod:`.explainer`          the seed-compatible facade (``MusicLIMEExplainer``)
* :mod:`.sampling`           perturbation masks
* :mod:`.modality`           which features a modality perturbs, and the mask layout
* :mod:`.inference`          streaming ``predict_fn`` over masks, in memory-bounded blocks
* :mod:`.composers`, :mod:`.device_composer`, :mod:`.memory_budget`   building perturbed waveforms
* :mod:`.surrogate`          the weighted linear fit (``lime``'s ``LimeBase``)
* :mod:`.explanation`        the explanation and its JSON file; :mod:`.explanation_views` reads it

Imports only :mod:`musiclime.factorization` and :mod:`musiclime.common`; never evidence, the
pipeline, tracking or models (``tests/test_architecture.py``).
"""
