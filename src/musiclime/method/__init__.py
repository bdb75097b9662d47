"""The MusicLIME method: perturb a song's components and lyrics, score the perturbations, fit a surrogate.

* :mod:`.explainer`          the seed-compatible facade (``MusicLIMEExplainer``)
* :mod:`.explanation`        the explanation and its JSON file; :mod:`.explanation_views` reads it
* :mod:`.modality`           which features a modality perturbs, and the mask layout
* :mod:`.estimation`         how an explanation is estimated from scored masks, never calling a model:
  masks (``sampling``), the surrogates (``surrogate``, ``shapley``, ``full_fit``, ``robust_fit``),
  certified ranks (``certification``, ``sequential_ranks``), the stopping rule (``stopping``) and the
  exact coarse attribution (``coarse_attribution``)
* :mod:`.scoring`            calling the model: streaming inference (``inference``, ``late_fusion``),
  perturbed waveforms in bounded buffers (``composers``, ``device_composer``, ``memory_budget``),
  rounds of the stopping rule (``rounds``) and the coalitions of the exact attribution (``coalitions``)

Imports only :mod:`musiclime.factorization` and :mod:`musiclime.common`; never evidence, the
pipeline, tracking or models, and ``estimation`` never imports ``scoring`` (``tests/test_architecture.py``).
"""
