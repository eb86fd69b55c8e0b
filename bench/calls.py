"""Benchmarks of calls (not part of `make test`): `python -m bench.calls [--rooms 500] [--runs 20] [--rate 250]`.

1. Join → first received video frame for two aiortc peers through the real server (`sprechzimmer serve`),
   direct and relay-only through coturn (if installed), median and p95 — as a ratio to a floor measured in
   the same run: the same two aiortc peers exchanging their descriptions in-process, without any server.
2. Signalling relay with N concurrent rooms (500 by default) on one server worker, as two figures, each as a
   ratio to a floor, a bare WebSocket echo server (no rules, no rooms, no compression, like the server) on the
   same machine: the latency (p99) of a relayed message, from its sending to its receipt by the other peer,
   against the echo of the same messages (both cross the server once, client → server → client), at a set
   rate of exchanges/s (--rate), floors alternating with measured runs, against the goal of ≤ 20 ms and a
   ratio ≤ 1.5; and the saturation throughput, every room sending as fast as it can. With
   BENCH_DATABASE_URL (or TEST_DATABASE_URL) again on PostgreSQL, two workers sharing the rooms, in a
   throwaway database.

Ratios keep the numbers comparable across machines; absolute values are printed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import websockets
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.contrib.media import MediaPlayer

from bench.foundation import fresh_postgres
from interfaces.client import appointments
from interfaces.client.call import TEST_PATTERN, Call
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.calls.media import Coturn, ServeProcess
from tests.calls.support import Appointment, token_hex, with_consent
from tests.conftest import PASSWORD, free_port, register
from tests.web.workers import WorkerProcess


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def line(name: str, values: list[float], floor: list[float] | None = None, unit: str = "ms",
         goal: float | None = None) -> None:
    """With `goal`: the issue's goal for the median (p50) and ✓/✗."""
    med, high = statistics.median(values), p95(values)
    text = f"{name:<44} median {med:8.2f} {unit}  p95 {high:8.2f} {unit}  (n={len(values)})"
    if floor:
        text += f"  ratio to floor: median {med / statistics.median(floor):6.2f}  p95 {high / p95(floor):6.2f}"
    if goal is not None:
        text += f"  goal p50 ≤ {goal:.0f} {unit} {'✓' if med <= goal else '✗'}"
    print(text, flush=True)


# --- media -------------------------------------------------------------------------------------------


class AppointmentBook:
    """Real appointments, planned through the SDK by the logged-in practice, the patient's consent recorded:
    each brings its two codes."""

    def __init__(self, client: Client):
        self.client = client

    def add(self, org_id: uuid.UUID) -> Appointment:
        planned = appointments.add(self.client, datetime.now(UTC) - timedelta(minutes=5), 60, "Bench")
        planned = with_consent(self.client, planned)  # without the Einwilligung no patient enters
        codes = planned.patient.codes
        session = self.client.session.token if self.client.session else None  # the practitioner presents it
        return Appointment(org_id, uuid.UUID(planned.appointment_id), codes["practitioner"], [codes["patient"]],
                           session)

async def floor_first_frame() -> float:
    """Two aiortc peers in one process, descriptions handed over directly: no server, no signalling."""
    t0 = time.monotonic()
    a, b = RTCPeerConnection(RTCConfiguration(iceServers=[])), RTCPeerConnection(RTCConfiguration(iceServers=[]))
    players = [MediaPlayer(TEST_PATTERN, format="lavfi") for _ in range(2)]
    video_a, video_b = players[0].video, players[1].video
    assert video_a is not None and video_b is not None
    a.addTrack(video_a)
    first = asyncio.get_running_loop().create_future()
    readers: list[asyncio.Future[None]] = []

    @b.on("track")
    def on_track(track: Any) -> None:
        async def read() -> None:
            await track.recv()
            if not first.done():
                first.set_result(time.monotonic())
        readers.append(asyncio.ensure_future(read()))

    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    b.addTrack(video_b)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    got = await asyncio.wait_for(first, 30)
    for pc in (a, b):
        await pc.close()
    video_a.stop()
    video_b.stop()
    return (got - t0) * 1000


async def call_first_frame(url: str, grants: AppointmentBook, org_id: uuid.UUID, relay_only: bool) -> float:
    appointment = grants.add(org_id)
    patient = Call(url, appointment.patient_code, relay_only=relay_only)
    doctor = Call(url, appointment.practitioner_code, appointment.patient_code, relay_only=relay_only,
                  session_token=appointment.session)
    try:
        t0 = time.monotonic()
        await doctor.start()
        await patient.start()
        await asyncio.gather(patient.wait_frames(1, timeout=60), doctor.wait_frames(1, timeout=60))
        firsts = [link.first_frame_at for call in (patient, doctor) for link in call.links.values()]
        return (max(f for f in firsts if f is not None) - t0) * 1000
    finally:
        await patient.close()
        await doctor.close()


# --- signalling --------------------------------------------------------------------------------------


# Without compression, like the server (interfaces/server.py: Worker).
ECHO_SERVER = """
import asyncio, sys, websockets
async def echo(ws):
    async for raw in ws:
        await ws.send(raw)
async def main():
    async with websockets.serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=2**20, compression=None):
        await asyncio.Future()
asyncio.run(main())
"""


# About the size of an aiortc offer, and a short answer: the messages of one exchange.
OFFER = json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a=x:" + "y" * 2000 + "\r\n", "mac": "00"})
ANSWER = json.dumps({"type": "answer", "sdp": "v=0", "mac": "00"})


async def paced(rate: float | None, clients: int, index: int, n: int, start: float) -> None:
    """At a set total rate, client `index` sends its n-th message at a fixed time (spread evenly over the
    clients); without a rate every client sends as fast as it can (saturation)."""
    if rate is None:
        return
    at = start + (n * clients + index) / rate
    delay = at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def echo_floor(messages: int, clients: int, rate: float | None = None) -> tuple[list[float], float]:
    """A bare WebSocket echo server in its own process (like the server): the cost of the transport itself."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)])
    for _ in range(100):
        try:
            probe = await websockets.connect(f"ws://127.0.0.1:{port}")
            await probe.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    conns = await asyncio.gather(*[websockets.connect(f"ws://127.0.0.1:{port}") for _ in range(clients)])
    latencies: list[float] = []

    async def run(index: int, ws: Any) -> None:
        for n in range(messages):
            await paced(rate, clients, index, n, start)
            for message in (OFFER, ANSWER):  # the messages the relay carries, one echo each
                t0 = time.perf_counter()
                await ws.send(message)
                await ws.recv()
                latencies.append((time.perf_counter() - t0) * 1000)

    t0 = start = time.perf_counter()
    await asyncio.gather(*[run(i, ws) for i, ws in enumerate(conns)])
    elapsed = time.perf_counter() - t0
    for ws in conns:
        await ws.close()
    server.terminate()
    server.wait()
    return latencies, clients * messages / elapsed


async def join(url: str, code: str, session: str | None = None) -> tuple[Any, dict[str, Any]]:
    token = await asyncio.to_thread(token_hex, code)  # Argon2id: off the loop, which keeps the open rooms alive
    ws = await websockets.connect(url.replace("http", "ws", 1) + "/ws/v1/calls", max_size=2**20, open_timeout=60)
    await ws.send(json.dumps({"type": "join", "token": token, "session": session}))
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "welcome":
            return ws, message


async def expect(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] == kind:
            return message


async def open_rooms(url: str, grants: AppointmentBook, org_id: uuid.UUID, rooms: int,
                     pairs: list[tuple[Any, Any]]) -> None:
    """Adds `rooms` admitted pairs (practitioner, patient) to `pairs`, each as soon as it is open."""
    appointments = [grants.add(org_id) for _ in range(rooms)]
    sem = asyncio.Semaphore(50)

    async def open_room(appointment: Any) -> None:
        async with sem:
            doctor, _ = await join(url, appointment.practitioner_code, appointment.session)
            patient, welcome = await join(url, appointment.patient_code)
            await doctor.send(json.dumps({"type": "admit", "peer": welcome["peer_id"]}))
            await expect(patient, "admitted")
            pairs.append((doctor, patient))

    await asyncio.gather(*[open_room(a) for a in appointments])


async def keep_alive(pairs: list[tuple[Any, Any]], every: float = 10.0, slices: int = 10) -> None:
    """Pings every socket about once per heartbeat (10 s), a tenth of them each second, as the apps do: the
    server drops a socket silent for three heartbeats, and opening 500 rooms or a floor run between two relay
    runs can take that long. A burst of a thousand pings at once would show up in the relay's p99, and a sleep
    per socket would stretch the round beyond 30 s on a busy loop."""
    tick = 0
    while True:
        await asyncio.sleep(every / slices)
        sockets = [ws for pair in pairs for ws in pair]
        for ws in sockets[tick % slices::slices]:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send('{"type":"ping"}')
        tick += 1


async def relay_bench(pairs: list[tuple[Any, Any]], messages: int,
                      rate: float | None = None) -> tuple[list[float], float]:
    """Each patient sends `messages` offers one after another and the practitioner answers each, all rooms at
    once: at a set total rate of exchanges/s (latency), or as fast as they can (saturation throughput). The
    latency of a relayed message is from its sending to its receipt by the other peer, the path an echo takes
    to come back (client → server → client): two samples per exchange, the offer and the answer."""
    rooms = len(pairs)
    latencies: list[float] = []

    async def run(index: int, doctor: Any, patient: Any) -> None:
        for n in range(messages):
            await paced(rate, rooms, index, n, start)
            for sender, receiver, message, kind in ((patient, doctor, OFFER, "offer"),
                                                    (doctor, patient, ANSWER, "answer")):
                t0 = time.perf_counter()
                await sender.send(message)
                await expect(receiver, kind)
                latencies.append((time.perf_counter() - t0) * 1000)

    t0 = start = time.perf_counter()
    await asyncio.gather(*[run(i, d, p) for i, (d, p) in enumerate(pairs)])
    elapsed = time.perf_counter() - t0
    return latencies, rooms * messages / elapsed  # exchanges (offer + answer) per second


# --- main --------------------------------------------------------------------------------------------



async def relay_rows(label: str, url: str, grants: AppointmentBook, org_id: uuid.UUID,
                     args: argparse.Namespace) -> None:
    """The relay's two figures (latency at a set rate, saturation throughput) against the echo floor."""
    pairs: list[tuple[Any, Any]] = []
    beating = asyncio.create_task(keep_alive(pairs))
    try:
        await open_rooms(url, grants, org_id, args.rooms, pairs)
        # 1. Latency at a set rate, floors alternating with measured runs.
        floor_lat, relay_lat = [], []
        for _ in range(args.rounds):
            floor_lat += (await echo_floor(args.paced_messages, args.rooms, args.rate))[0]
            relay_lat += (await relay_bench(pairs, args.paced_messages, args.rate))[0]
        line(f"floor: bare WebSocket echo, {args.rooms} clients, {args.rate:.0f} exchanges/s", floor_lat)
        line(f"relayed message, {label}", relay_lat, floor_lat)
        ok = p99(relay_lat) <= 20 and p99(relay_lat) / p99(floor_lat) <= 1.5
        print(f"{'  p99':<44} {p99(relay_lat):8.2f} ms vs floor {p99(floor_lat):8.2f} ms  ratio "
              f"{p99(relay_lat) / p99(floor_lat):6.2f}  goal ≤ 20 ms, ratio ≤ 1.5  {'✓' if ok else '✗'}")
        # 2. Saturation: every room as fast as it can.
        _, floor_rate = await echo_floor(args.messages, args.rooms)
        _, rate = await relay_bench(pairs, args.messages)
        print(f"{'saturation throughput (exchanges/s)':<44} {rate:10.0f}   floor {floor_rate:10.0f} echo pairs/s"
              f"   ratio {rate / floor_rate:6.2f}", flush=True)
    finally:
        beating.cancel()
        for d, p in pairs:
            await d.close()
            await p.close()


async def relay_on_postgres(database_url: str, directory: Path, args: argparse.Namespace) -> None:
    """The relay as production runs it: two workers sharing rooms through PostgreSQL (LISTEN/NOTIFY)."""
    port = free_port()
    env = {"SPRECHZIMMER_DATA_DIR": str(directory / "var-pg"), "SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}",
           "SMTP_PORT": str(free_port()), "DATABASE_URL": database_url, "SPRECHZIMMER_INSECURE_DEV": "1"}
    server = ServeProcess(port, env, 2, directory / "serve-pg.log")
    # the read models' worker: without it every save in a web worker waits 2 s before catching up itself
    worker = WorkerProcess(env, directory / "worker-pg.log")
    try:
        server.wait_ready(2)
        client = Client(server.url, LocalStore(directory / "client-pg"))
        org_id = uuid.UUID(str(register(client)["org_id"]))
        client.login("PWinkler", "MartinW", PASSWORD)
        print()
        await relay_rows(f"{args.rooms} rooms, {args.rate:.0f}/s, PostgreSQL, 2 workers", server.url,
                         AppointmentBook(client), org_id, args)
    finally:
        worker.stop()
        server.stop()


async def run(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))  # 1000 sockets on each side
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        port = free_port()
        turn = None
        env = {"SPRECHZIMMER_DATA_DIR": str(directory / "var"), "SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}",
               "SMTP_PORT": str(free_port())}
        try:
            turn_secret = secrets.token_hex(16)
            # Room for the allocations of 40 calls: every peer allocates a relay port while gathering, direct too.
            turn = Coturn(directory / "coturn", free_port(), turn_secret, 50160, ports=400)
            turn.wait_ready()
            env |= {"TURN_URLS": turn.url, "TURN_SECRET": turn_secret}
        except Exception as error:  # relayed runs are optional
            print(f"(coturn not available, relayed runs skipped: {error})")
            turn = None
        server = ServeProcess(port, env, None, directory / "serve.log")
        try:
            server.wait_ready(1)
            client = Client(server.url, LocalStore(directory / "client"))
            org_id = uuid.UUID(str(register(client)["org_id"]))
            client.login("PWinkler", "MartinW", PASSWORD)
            grants = AppointmentBook(client)
            print(f"Calls benchmark — {os.cpu_count()} CPUs, one server worker (embedded mode)\n")

            if args.runs:
                floor = [await floor_first_frame() for _ in range(args.runs)]
                line("floor: aiortc pair without server", floor)
                direct = [await call_first_frame(server.url, grants, org_id, False) for _ in range(args.runs)]
                line("join → first frame, direct", direct, floor, goal=150)
                if turn is not None:
                    relayed = [await call_first_frame(server.url, grants, org_id, True) for _ in range(args.runs)]
                    line("join → first frame, relay-only via coturn", relayed, floor, goal=600)
                print()
            await relay_rows(f"{args.rooms} rooms, {args.rate:.0f}/s, embedded", server.url, grants, org_id, args)
        finally:
            server.stop()
            if turn is not None:
                turn.stop()
        database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if database_url:
            with fresh_postgres(database_url) as database:
                await relay_on_postgres(database, directory, args)


def cli(argv: list[str] | None = None) -> None:
    logging.getLogger("aioice").setLevel(logging.WARNING)  # one line per ICE check otherwise
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--messages", type=int, default=10, help="offers per room")
    parser.add_argument("--runs", type=int, default=20, help="aiortc calls per variant (≥ 20 for a p95; 0: relay only)")
    parser.add_argument("--rate", type=float, default=250.0, help="exchanges/s for the latency figure")
    parser.add_argument("--paced-messages", type=int, default=2, help="offers per room and round, at --rate")
    parser.add_argument("--rounds", type=int, default=3, help="floor / relay alternations at --rate")
    asyncio.run(run(parser.parse_args(argv or [])))


if __name__ == "__main__":
    cli(sys.argv[1:])
