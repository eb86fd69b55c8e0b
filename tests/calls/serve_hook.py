"""Runs `sprechzimmer serve` with the test's join resolver (codes in the JSON file SZ_TEST_GRANTS), because the
appointments context that resolves real codes is built in parallel. Everything else is the production path:
gunicorn, uvicorn workers, the container built in each worker after the fork."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from interfaces import call_wiring
from interfaces.cli.main import main
from tests.calls.support import GrantBook

if __name__ == "__main__":
    call_wiring.no_appointments = GrantBook(Path(os.environ["SZ_TEST_GRANTS"]))  # type: ignore[assignment]
    sys.exit(main(["serve", *sys.argv[1:]]))
