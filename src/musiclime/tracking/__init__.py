"""Log MusicLIME explanations to MLflow: one parent run per sweep, one run per explanation.

See ``docs/tracking.md`` for what is logged where, idempotency and parallel safety. Names are
imported on first use: MLflow costs about 3 s to import, and the workflow's planning only needs
:mod:`.settings`.
"""

from __future__ import annotations

from ..common.lazy import lazy_getattr

_EXPORTS = {
    **dict.fromkeys(("evaluation_record", "explanation_metrics", "ranking_rows", "ranking_table"), ".records"),
    **dict.fromkeys(("ensure_parent_run", "experiment_id", "find_or_create_experiment", "log_evaluation",
                     "log_explanation", "log_point_report", "PointSession"), ".runs"),
    **dict.fromkeys(("EXPERIMENT_KIND", "RANKING_ARTIFACT", "RANKING_COLUMNS", "TAG_EXPERIMENT_KIND", "TAG_ROLE",
                     "TAG_RUN_KEY", "TAG_SONG_ID", "TAG_SWEEP_ID", "TrackingError", "TrackingSettings",
                     "refuse_sqlite_on_cluster", "runs_url"), ".settings"),
    **dict.fromkeys(("check_tracking_uri", "lock_path"), ".store"),
    **dict.fromkeys(("log_detector", "TAG_DETECTOR_RUN_ID"), ".detector_runs"),
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
