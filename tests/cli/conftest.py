"""A real `sprechzimmer serve` (gunicorn + uvicorn workers) on SQLite and on PostgreSQL, and the CLI run as a
user runs it: a subprocess without a terminal."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import PASSWORD, free_port

BIN = Path(sys.executable).parent / "sprechzimmer"


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPRECHZIMMER_", "DATABASE_URL"))}
    env |= {"SPRECHZIMMER_URL": f"http://127.0.0.1:{port}", "SPRECHZIMMER_CONFIG_DIR": str(tmp_path / "client"),
            "SMTP_PORT": str(free_port())}
    args = [str(BIN), "serve", "--port", str(port)]
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        env["SPRECHZIMMER_INSECURE_DEV"] = "1"  # the README's quick start; keys apart: tests/contract
        args += ["--workers", "2"]
    workdir = tmp_path / "praxis"
    workdir.mkdir()
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(args, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        yield env, workdir
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        log.close()
    server_log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in server_log, server_log
    assert PASSWORD not in server_log and "Authorization" not in server_log


def cli(env: dict[str, str], workdir: Path, *args: str,
        extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=workdir, env=env | (extra or {}), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def database(env: dict[str, str], workdir: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Runs one statement on the server's state database (sessions live there), as an operator could."""
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
    with sqlite3.connect(workdir / "var" / "state.sqlite") as conn:
        return conn.execute(sql, params).fetchall()
