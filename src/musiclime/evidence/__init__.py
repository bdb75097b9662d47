"""What turns explanations into evidence: pictures, pages, listenable WAVs, tables, global importance, trust.

* :mod:`.figures`      PNGs (audio heatmap, top-feature bars, weighted lyrics, global importance)
* :mod:`.pages`        HTML pages from the Jinja2 ``templates/``
* :mod:`.listenable`   the top audio components and the song without them
* :mod:`.tables`       summary TSVs per point and per sweep
* :mod:`.aggregation`  global importance per class (``I_LIME``, ``I_AVG``, ``I_HOM``)
* :mod:`.paper_aggregation`  the MusicLIME paper's own aggregation; ``importance_rows`` picks the method
* :mod:`.global_figures`  the paper's global pictures: per class, class versus class
* :mod:`.trust`        stability, faithfulness, randomization sanity check

Reads explanations (:mod:`musiclime.method.explanation`); only :mod:`.trust` calls a model, through
:mod:`musiclime.method.scoring.inference` and a ``predict_fn`` it is given.
"""
