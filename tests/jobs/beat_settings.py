"""The test settings with every beat job due each second (a test waits seconds, not hours)."""

from tests.settings import *  # noqa: F403
from tests.settings import CELERY_BEAT_SCHEDULE

CELERY_BEAT_SCHEDULE = {
    name: {**entry, "schedule": 1.0} for name, entry in CELERY_BEAT_SCHEDULE.items()
}
