"""APScheduler 3 running the application's jobs. The job store is memory on purpose: what is due is
derived from the event store on every run, so nothing is lost when the process restarts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from application.jobs import Job
from application.services import Services

log = logging.getLogger("sprechzimmer.jobs")


def run_job(services: Services, job: Job) -> int:
    try:
        done = job.run(services)
    except Exception:  # logged and retried on the next run; one failing job must not stop the others
        log.exception("job %s failed", job.name)
        return 0
    if done:
        log.info("job %s: %d done", job.name, done)
    return done


class Scheduler:
    def __init__(self, services: Services, jobs: list[Job]):
        self.services = services
        self.jobs = jobs
        self._scheduler: BackgroundScheduler | None = None

    def run_all_once(self) -> dict[str, int]:
        return {job.name: run_job(self.services, job) for job in self.jobs}

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone=UTC)
        for job in self.jobs:
            scheduler.add_job(run_job, IntervalTrigger(seconds=job.every_seconds), args=[self.services, job],
                              id=job.name, max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.start()
        self._scheduler = scheduler

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
