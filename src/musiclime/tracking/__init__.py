"""Log MusicLIME explanations to MLflow: one parent run per sweep, one run per explanation.

See ``docs/tracking.md`` for what is logged where, idempotency and parallel safety.
"""

from .records import explanation_metrics, ranking_rows, ranking_table
from .runs import ensure_parent_run, find_or_create_experiment, log_evaluation, log_explanation, log_point_report
from .settings import (EXPERIMENT_KIND, RANKING_ARTIFACT, TAG_EXPERIMENT_KIND, RANKING_COLUMNS, TAG_ROLE, TAG_RUN_KEY, TAG_SONG_ID, TAG_SWEEP_ID,
                       TrackingError, TrackingSettings)
from .store import check_tracking_uri, lock_path

__all__ = [
    "EXPERIMENT_KIND", "RANKING_ARTIFACT", "RANKING_COLUMNS", "TAG_EXPERIMENT_KIND", "TAG_ROLE", "TAG_RUN_KEY",
    "TAG_SONG_ID", "TAG_SWEEP_ID", "TrackingError",
    "TrackingSettings", "check_tracking_uri", "ensure_parent_run", "explanation_metrics", "find_or_create_experiment",
    "lock_path", "log_evaluation", "log_explanation", "log_point_report", "ranking_rows", "ranking_table",
]
