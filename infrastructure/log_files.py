"""The server's access log as one file per UTC day (`<data dir>/log/access-YYYY-MM-DD.log`, 0600), so the
retention job can delete the days older than three months (KBV) by name. Every web worker appends to the same
day's file; each line is one write in append mode, so the lines of several processes do not interleave."""

from __future__ import annotations

import logging
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

from infrastructure.sql import private_dir

PATTERN = re.compile(r"access-(\d{4}-\d{2}-\d{2})\.log")


def log_dir(data_dir: Path) -> Path:
    return data_dir / "log"


class DailyAccessLog(logging.Handler):
    def __init__(self, directory: Path):
        super().__init__()
        self.directory = directory
        self._lock_files = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            day = datetime.fromtimestamp(record.created, UTC).date().isoformat()
            line = (self.format(record) + "\n").encode()
            path = self.directory / f"access-{day}.log"
            with self._lock_files:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                except FileNotFoundError:  # the first line, or the directory was removed: created private
                    private_dir(self.directory)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except Exception:  # a full disk must not fail the request the line describes
            self.handleError(record)


def prune_log_files(directory: Path, cutoff: datetime) -> int:
    """Deletes the days before the cutoff's day; returns how many files went."""
    if not directory.is_dir():
        return 0
    deleted = 0
    for path in directory.iterdir():
        match = PATTERN.fullmatch(path.name)
        if match and match[1] < cutoff.astimezone(UTC).date().isoformat():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
