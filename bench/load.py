"""Load benchmark (issue 10 acceptance, issue 13 table): `python -m bench load [--clients 200] [--seconds 60]`.

`sprechzimmer serve` (SQLite, or PostgreSQL with two web workers and `sprechzimmer worker` when
BENCH_DATABASE_URL is set) is driven by N concurrent clients for a fixed time with a realistic mix: practice
staff logging in (auth/start + auth/finish), reading their session and the day's calendar and opening an
appointment; patients checking their code and joining the call's signalling socket (join → waiting room →
leave). Each client comes through a trusted proxy with an address of its own, as in production, so the per-IP
throttles count each client apart. The floor is the same number of clients requesting `/healthz` on the same
server in the same run. Printed: requests/s, errors, p50/p99 of the mix against the floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import websockets

from bench.foundation import fresh_postgres
from interfaces.client import appointments
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import CODE_SECRETS, Client
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol.keys import DeviceKeys, PasswordKeys, password_keys
from sprechzimmer_protocol.primitives import sign
from tests.calls.media import ServeProcess
from tests.calls.support import with_consent
from tests.conftest import PASSWORD, free_port, register
from tests.web.workers import WorkerProcess

PRACTICES = 4
# Each with its own patient code: one seat per code (crypto.md §8a.6). More codes than the 40 patient clients,
# so that a code left goes to the back of the queue: a person does not rejoin within milliseconds of leaving.
CALL_APPOINTMENTS = 60


@dataclass
class Practice:
    org: str
    user: str
    device_id: str
    device: DeviceKeys
    pw: PasswordKeys
    token: str


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def ok(self, started: float) -> None:
        self.requests += 1
        self.latencies.append(time.perf_counter() - started)

    def fail(self, what: str) -> None:
        self.requests += 1
        self.errors[what] = self.errors.get(what, 0) + 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _prepare(url: str, directory: Path) -> tuple[list[Practice], list[str]]:
    """Practices registered and logged in through the SDK; appointments now with their patients' join tokens."""
    practices, tokens = [], []
    for i in range(PRACTICES):
        store = LocalStore(directory / f"client-{i}")
        client = Client(url, store)
        org = f"PLast{i}"
        register(client, credentials__org_short=org)
        session = client.login(org, "MartinW", PASSWORD)
        record = store.device(url, org.lower())
        assert record is not None
        start = client.http.post("/api/v1/auth/start", json={"org": org, "user": "MartinW",
                                                             "device_id": record.device_id, "origin": url}).json()
        pw = password_keys(PASSWORD, bytes.fromhex(start["salt"]), start["kdf"]["ops"], start["kdf"]["mem"])
        practices.append(Practice(org, "MartinW", record.device_id, DeviceKeys.from_seed(bytes.fromhex(record.seed)),
                                  pw, session.token))
        for _ in range(CALL_APPOINTMENTS // PRACTICES):
            made = with_consent(client, appointments.add(client, datetime.now(UTC) + timedelta(minutes=5), 30,
                                                         "Erika Müßig"))  # without it no patient enters
            tokens.append(CODE_SECRETS.join_token(made.patient.codes["patient"]).hex())
        client.close()
    return practices, tokens


async def _staff(http: httpx.AsyncClient, practice: Practice, url: str, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {practice.token}"}
    day = datetime.now(UTC).date().isoformat()
    for path in ("/api/v1/session", f"/api/v1/appointments?day={day}&limit=50&offset=0"):
        started = time.perf_counter()
        answer = await http.get(path, headers=headers)
        if answer.status_code == 200:
            tally.ok(started)
        else:
            tally.fail(f"GET {path.split('?')[0]} {answer.status_code}")
    if random.random() < 0.3:  # a login now and then
        started = time.perf_counter()
        start = await http.post("/api/v1/auth/start", json={"org": practice.org, "user": practice.user,
                                                            "device_id": practice.device_id, "origin": url})
        if start.status_code != 200:
            tally.fail(f"auth/start {start.status_code}")
            return
        data = start.json()
        transcript = layouts.login(practice.org, practice.user, practice.device_id, bytes.fromhex(data["nonce"]), url)
        finish = await http.post("/api/v1/auth/finish", json={
            "challenge_id": data["challenge_id"], "sig_pw": sign(practice.pw.signing, transcript).hex(),
            "sig_dev": sign(practice.device.signing, transcript).hex()})
        if finish.status_code != 200:
            tally.fail(f"auth/finish {finish.status_code}")
            return
        tally.ok(started)
        await http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {finish.json()['token']}"})


async def _patient(http: httpx.AsyncClient, token: str, ws_url: str, address: str, tally: Tally) -> None:
    started = time.perf_counter()
    check = await http.post("/api/v1/access-codes/check", json={"join_token": token})
    if check.status_code != 200:
        tally.fail(f"code check {check.status_code}")
        return
    tally.ok(started)
    started = time.perf_counter()
    try:
        async with websockets.connect(ws_url, additional_headers={"X-Forwarded-For": address}) as ws:
            await ws.send(json.dumps({"type": "join", "token": token}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if welcome.get("type") != "welcome":
                tally.fail(f"join {welcome.get('type')}: {welcome.get('detail', '')}")
                return
            await ws.send(json.dumps({"type": "leave"}))
        tally.ok(started)
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        tally.fail(f"join {type(error).__name__}")


async def _client(n: int, url: str, practices: list[Practice], tokens: asyncio.Queue[str], until: float,
                  tally: Tally, floor: bool) -> None:
    address = f"10.{n // 250}.{n % 250}.{1 + n % 200}"
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={"X-Forwarded-For": address}) as http:
        while time.perf_counter() < until:
            try:
                if floor:
                    started = time.perf_counter()
                    answer = await http.get("/healthz")
                    if answer.status_code == 200:
                        tally.ok(started)
                    else:
                        tally.fail(f"healthz {answer.status_code}")
                elif n % 5 == 0 and not tokens.empty():  # a fifth of the clients are patients
                    token = await tokens.get()
                    await _patient(http, token, url.replace("http", "ws", 1) + "/ws/v1/calls", address, tally)
                    tokens.put_nowait(token)
                else:
                    await _staff(http, practices[n % len(practices)], url, tally)
            except httpx.HTTPError as error:
                tally.fail(type(error).__name__)
            await asyncio.sleep(random.uniform(0.05, 0.25))  # a person's pace, not a flood


def _drive(url: str, practices: list[Practice], tokens: list[str], clients: int, seconds: float,
           floor: bool) -> tuple[Tally, float]:
    async def main() -> Tally:
        tally = Tally()
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in tokens:
            queue.put_nowait(token)
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(n, url, practices, queue, until, tally, floor) for n in range(clients)))
        return tally

    started = time.perf_counter()
    tally = asyncio.run(main())
    return tally, time.perf_counter() - started


def _report(name: str, tally: Tally, elapsed: float) -> None:
    p50, p99 = _percentile(tally.latencies, 0.5), _percentile(tally.latencies, 0.99)
    errors = sum(tally.errors.values())
    print(f"{name:<10} {tally.requests / elapsed:8.1f} req/s  errors {errors:5d}  p50 {p50 * 1000:8.1f} ms  "
          f"p99 {p99 * 1000:8.1f} ms  (n={tally.requests}){'  ' + str(tally.errors) if errors else ''}", flush=True)


def run(clients: int, seconds: float) -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        port = free_port()
        env = {"SPRECHZIMMER_DATA_DIR": str(directory / "var"), "SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}",
               "SPRECHZIMMER_TRUSTED_PROXIES": "127.0.0.1", "SMTP_PORT": str(free_port())}
        workers, worker = None, None
        if database_url:
            env |= {"DATABASE_URL": stack.enter_context(fresh_postgres(database_url)),
                    "SPRECHZIMMER_INSECURE_DEV": "1"}
            workers = 2
        server = ServeProcess(port, env, workers, directory / "serve.log")
        try:
            server.wait_ready(workers or 1)
            if database_url:
                worker = WorkerProcess(env, directory / "worker.log")
            label = "PostgreSQL, 2 workers" if database_url else "SQLite"
            print(f"[load, {label}] {clients} clients, {seconds:.0f} s each phase", flush=True)
            practices, tokens = _prepare(server.url, directory)
            floor, floor_time = _drive(server.url, practices, tokens, clients, seconds, floor=True)
            mix, mix_time = _drive(server.url, practices, tokens, clients, seconds, floor=False)
            _report("floor", floor, floor_time)
            _report("mix", mix, mix_time)
            p99 = _percentile(mix.latencies, 0.99)
            ok = not mix.errors and p99 <= 1.0
            print(f"mix p99 / floor p99 = {p99 / _percentile(floor.latencies, 0.99):.2f}; "
                  f"goal: 0 errors, p99 ≤ 1 s {'✓' if ok else '✗'}", flush=True)
        finally:
            if worker is not None:
                worker.stop()
            server.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    args, _ = parser.parse_known_args(sys.argv[2:] if sys.argv[1:2] == ["load"] else sys.argv[1:])
    run(args.clients, args.seconds)


if __name__ == "__main__":
    cli()
