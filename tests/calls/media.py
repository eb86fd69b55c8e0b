"""Helpers for the media tests: server subprocesses, UDP sockets of a process tree, coturn."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT


def udp_socket_inodes(pid: int) -> set[str]:
    """Inodes of the UDP sockets that process `pid` holds (its fds matched against /proc/<pid>/net/udp*)."""
    udp: set[str] = set()
    for table in ("udp", "udp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            udp |= {line.split()[9] for line in list(f)[1:]}
    held: set[str] = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    return held & udp


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in os.listdir(f"/proc/{current}/task"):
            with open(f"/proc/{current}/task/{task}/children") as f:
                todo.extend(int(p) for p in f.read().split())
    return pids


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM as an operator's service manager sends it; the whole process group is killed if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


class ServeProcess:
    """`sprechzimmer serve` in a subprocess: gunicorn, uvicorn workers, the production wiring."""

    def __init__(self, port: int, env: dict[str, str], workers: int | None, log: Path):
        self.url = f"http://127.0.0.1:{port}"
        args = [str(Path(sys.executable).parent / "sprechzimmer"), "serve", "--port", str(port)]
        if workers:
            args += ["--workers", str(workers)]
        self.log = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                if httpx.get(self.url + "/api/v1/status", timeout=2).status_code == 200 and \
                        len(process_tree(self.proc.pid)) > workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def turnserver() -> str:
    path = shutil.which("turnserver")
    if path is None:
        raise RuntimeError("coturn fehlt: `apt-get install -y coturn` (make test installiert es)")
    return path


class Coturn:
    """Debian's coturn on 127.0.0.1 with REST credentials (use-auth-secret) and loopback peers allowed."""

    def __init__(self, directory: Path, port: int, secret: str, min_port: int, ports: int = 41):
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "turnserver.conf"
        config.write_text("\n".join([
            "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={port}",
            f"min-port={min_port}", f"max-port={min_port + ports - 1}", "allow-loopback-peers", "use-auth-secret",
            f"static-auth-secret={secret}", "realm=sprechzimmer.test", "fingerprint", "no-tls", "no-dtls", "no-cli",
            "no-multicast-peers", "no-tcp-relay", "simple-log", f"pidfile={directory}/turnserver.pid",
            f"userdb={directory}/turndb",
            f"log-file={directory}/turn.log", "",
        ]))
        self.url = f"turn:127.0.0.1:{port}?transport=udp"
        self.log = directory / "turn.log"
        self.proc = subprocess.Popen([turnserver(), "-c", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = list(self.log.parent.glob("turn*.log"))
            if any("relay ports initialization done" in p.read_text(errors="replace").lower() for p in logs):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("coturn exited")
            time.sleep(0.1)
        raise RuntimeError("coturn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
