"""The product as it runs on PostgreSQL, for browser tests: two `sprechzimmer serve` processes (gunicorn with a
uvicorn worker each) on two ports, and `sprechzimmer worker` for the read models and jobs, all against one fresh
database (and a keystore database of its own), configured only through the environment as README §PostgreSQL
describes — no SPRECHZIMMER_INSECURE_DEV: separate keystore, KEK and audit key from the environment, the
operator's (valid, non-test) SEPA data.

Two processes rather than one gunicorn with two workers because the kernel, not the test, picks a gunicorn
worker for each connection; two ports put each side of a call on a known worker. Both origins are accepted by
both processes, as behind a load balancer that spreads one site over several workers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.calls.media import ServeProcess, stop_process
from tests.conftest import OPERATOR, ROOT, free_port


@dataclass
class ProductServers:
    a: ServeProcess
    b: ServeProcess
    database_url: str

    def workers_of_members(self) -> dict[str, str]:
        """Signalling member (peer id) → the web worker that holds its socket (the hub's own bookkeeping)."""
        with psycopg.connect(self.database_url) as conn:
            return dict(conn.execute("SELECT peer_id, worker FROM call_member").fetchall())


class WorkerProcess:
    """`sprechzimmer worker`: read models and scheduled jobs apart from the web workers (PostgreSQL mode)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log.open("wb")
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "sprechzimmer"), "worker"], cwd=ROOT,
                                     env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def product_env(database_url: str, keystore_url: str, origins: list[str], data_dir: Path) -> dict[str, str]:
    """What an operator sets (README): the same secrets for every process, both origins accepted."""
    unset = ("DATABASE_URL", "KEYSTORE_URL", "SPRECHZIMMER_INSECURE_DEV")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({
        "DATABASE_URL": database_url, "KEYSTORE_URL": keystore_url,
        "SPRECHZIMMER_KEK": os.urandom(32).hex(), "SPRECHZIMMER_PEPPER": os.urandom(32).hex(),
        "SPRECHZIMMER_FAKE_SALT_KEY": os.urandom(32).hex(), "SPRECHZIMMER_AUDIT_KEY": os.urandom(32).hex(),
        "SPRECHZIMMER_RETENTION_KEY": os.urandom(32).hex(),
        "SPRECHZIMMER_ORIGINS": ",".join(origins), "SPRECHZIMMER_DATA_DIR": str(data_dir),
        "SEPA_CREDITOR_ID": OPERATOR["creditor_id"], "SEPA_CREDITOR_IBAN": OPERATOR["creditor_iban"],
        "SELLER_VAT_ID": OPERATOR["seller_vat_id"],
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port()),  # no mail server: the outbox keeps the mail
    })
    return env


def _start(directory: Path, start: Callable[[], None]) -> None:
    """Starts, or fails with the processes' logs (a refused start says why only there)."""
    try:
        start()
    except RuntimeError as error:
        logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(directory.glob("*.log")))
        raise RuntimeError(f"{error}\n{logs}") from None


@contextmanager
def product_servers(database_url: str, keystore_url: str, directory: Path) -> Iterator[ProductServers]:
    ports = [free_port(), free_port()]
    origins = [f"http://127.0.0.1:{port}" for port in ports]
    env = product_env(database_url, keystore_url, origins, directory / "var")
    started: list[ServeProcess | WorkerProcess] = []
    try:
        # One process creates the schema first; the others find it (each would also take the lock itself).
        a = ServeProcess(ports[0], env, 1, directory / "serve-a.log")
        started.append(a)
        _start(directory, lambda: a.wait_ready(1))
        b = ServeProcess(ports[1], env, 1, directory / "serve-b.log")
        started += [b, WorkerProcess(env, directory / "worker.log")]
        _start(directory, lambda: b.wait_ready(1))
        yield ProductServers(a, b, database_url)
    finally:
        for process in reversed(started):
            process.stop()
