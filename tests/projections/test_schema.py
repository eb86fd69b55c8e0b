"""Several processes starting at the same moment on an empty PostgreSQL database (the README's recipe:
`serve --workers N` and `worker` together) create the schema once, under an advisory lock, without
colliding in PostgreSQL's catalog (`UniqueViolation … pg_type_typname_nsp_index`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container, build
from tests.calls.media import ServeProcess, process_tree
from tests.conftest import ROOT, free_port, server_env

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def test_processes_starting_together_create_the_schema_once(settings: Settings) -> None:
    starters = 6
    barrier = threading.Barrier(starters)
    built: list[Container] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            built.append(build(settings, catch_up_after_save=False))
        except BaseException as error:  # collected: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert len(built) == starters
        assert built[0].projections.positions()  # every read model's tracking row exists once
    finally:
        for container in built:
            container.close()


def test_serve_with_two_workers_and_the_worker_start_together_on_an_empty_database(
        settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(settings) | {"SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}"}
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "worker"], cwd=ROOT,
                              env={**os.environ, **env}, stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    server = ServeProcess(port, env, 2, tmp_path / "serve.log")
    try:
        server.wait_ready(2)
        deadline = time.monotonic() + 10  # both web workers answer, and the worker keeps running
        while len(process_tree(server.proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(6):
            assert httpx.get(server.url + "/api/v1/status", timeout=10).status_code == 200
        time.sleep(1)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        server.stop()
        worker.terminate()
        worker.wait(timeout=20)
        worker_log.close()
    logs = (tmp_path / "serve.log").read_text() + (tmp_path / "worker.log").read_text()
    assert "Traceback" not in logs and "UniqueViolation" not in logs, logs
