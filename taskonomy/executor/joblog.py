"""Each job's own log file, ``WORKDIR/logs/<id>.log``, appended across attempts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from taskonomy.executor.runinfo import log_path
from taskonomy.planner.jobs import Job


class _QuietFileHandler(logging.FileHandler):
    """A file handler that drops a record it cannot write (a full disk) instead of
    printing logging's "--- Logging error ---" traceback; the run reports the cause."""

    def handleError(self, record: logging.LogRecord) -> None:
        return None


@contextlib.contextmanager
def job_logger(workdir: Path, job: Job) -> Iterator[tuple[logging.Logger, Path]]:
    """A logger writing to the job's own log file (appended across attempts)."""
    path = log_path(workdir, job.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"taskonomy.job.{job.hash[:16]}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = _QuietFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger, path
    finally:
        logger.removeHandler(handler)
        handler.close()


__all__ = ["job_logger"]
