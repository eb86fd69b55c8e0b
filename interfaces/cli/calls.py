"""`sprechzimmer call`: join a consultation with the aiortc client, print state, path, round-trip time and
frames received. The key that proves the media connection (k_call, design/crypto.md §4.10a) derives from the
call code (--call-code): in a conference every party passes the shared Konferenzcode; in a 1:1 call the
practitioner passes the patient's code and the patient needs none (their own code is the call code)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from interfaces.cli.common import client
from interfaces.client.call import Call, CallError

STATES_DE = {
    "waiting": "Im Wartezimmer – die Praxis lässt Sie gleich herein.",
    "admitted": "Eingelassen.",
    "connected": "Verbunden.",
    "reconnecting": "Signalisierung unterbrochen – verbinde neu …",
    "resumed": "Signalisierung wiederhergestellt.",
    "signalling-lost": "Signalisierung nicht erreichbar; die laufende Verbindung bleibt bestehen.",
    "failed": "Abgebrochen.",
}
BERLIN = ZoneInfo("Europe/Berlin")
PATH_DE = {"direct": "direkt (Peer-to-Peer)", "relayed": "über TURN-Relay"}


def _print_event(kind: str, data: dict[str, Any]) -> None:
    if kind == "waiting-room":
        for entry in data.get("waiting", []):
            since = time.strftime("%H:%M:%S", time.localtime(entry["since"]))
            print(f"Wartezimmer: Teilnehmer {entry['peer_id']} wartet seit {since}", flush=True)
    elif kind == "waiting" and "starts_at" in data:
        print(STATES_DE[kind] + _starts(data), flush=True)
    elif kind in STATES_DE:
        detail = data.get("detail")
        print(STATES_DE[kind] + (f" {detail}" if detail else ""), flush=True)
    elif kind in ("refused", "dropped", "gone"):
        print(f"Hinweis: {data.get('detail', '')}", flush=True)
    elif kind in ("peer-joined", "peer-left"):
        print(f"{'Beigetreten' if kind == 'peer-joined' else 'Verlassen'}: {data.get('role')} "
              f"{data.get('peer_id')}", flush=True)


def _starts(data: dict[str, Any]) -> str:
    """When the appointment begins, in the time of the practice (Europe/Berlin), for an early patient."""
    starts_at = data.get("starts_at")
    if not isinstance(starts_at, str):
        return ""
    local = datetime.fromisoformat(starts_at).astimezone(BERLIN)
    return f" Der Termin beginnt am {local:%d.%m.%Y} um {local:%H:%M} Uhr."


async def _run(args: argparse.Namespace) -> int:
    sdk = client()
    # the practitioner code admits only with the admin's session (§8a.7); for a patient code it is ignored
    stored = sdk.store.session() or {}
    session = stored.get("token") if stored.get("origin", sdk.origin) == sdk.origin else None
    sdk.close()
    call = Call(sdk.origin, args.code, args.call_code, session_token=session, video=args.video,
                test_pattern=args.test_pattern or not args.video, relay_only=args.relay_only,
                auto_admit=not args.no_admit, on_event=_print_event)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await call.start()
        waited = asyncio.create_task(call.wait_connected(timeout=args.timeout))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({waited, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not waited.done():
            waited.cancel()
            return 130
        waited.result()
        pair = call.selected_pair()
        print(f"Weg: {PATH_DE.get(call.path(), call.path())} ({' ↔ '.join(pair) if pair else '?'})", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if call.error is not None:
                raise call.error
            rtt = await call.round_trip_time() if call.links else None
            frames = call.total_frames()
            rtt_text = f"{rtt * 1000:.1f} ms" if rtt is not None else "–"
            print(f"Status: {call.state}, Umlaufzeit {rtt_text}, empfangene Bilder {frames}", flush=True)
        return 0
    except CallError as error:
        print(f"Fehler: {error}", file=sys.stderr, flush=True)
        if error.code in (401, 4401):  # the practitioner code without a (valid) login of a practice admin
            print("Hinweis: Mit dem Behandlercode zuerst `sprechzimmer login` als Administrator der Praxis.",
                  file=sys.stderr, flush=True)
        return 2
    except TimeoutError:
        print(f"Fehler: keine Verbindung innerhalb von {args.timeout:.0f} s (Zustand: {call.state}).",
              file=sys.stderr, flush=True)
        return 1
    finally:
        await call.close()


def cmd_call(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


def add_commands(sub: Any) -> None:
    p = sub.add_parser("call", help="An einer Sprechstunde teilnehmen (Video, Peer-to-Peer)")
    p.add_argument("--code", required=True, help="eigener Zugangscode")
    p.add_argument("--call-code", "--patient-code", dest="call_code", default=None,
                   help="Code, aus dem der Schlüssel abgeleitet wird, der die Verbindung gegen Manipulation durch "
                        "den Server absichert: bei einer Konferenz der Konferenzcode (alle Teilnehmenden); sonst "
                        "der Code des Patienten (nur Praxis; --patient-code ist der frühere Name)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--video", default=None, help="Videodatei als Kamera")
    source.add_argument("--test-pattern", action="store_true", help="Testbild senden (Standard)")
    p.add_argument("--relay-only", action="store_true", help="nur über TURN verbinden (verbirgt die eigene IP)")
    p.add_argument("--with-session", action="store_true",
                   help="ohne Wirkung (früher nötig): die Sitzung der Anmeldung wird immer vorgelegt")
    p.add_argument("--no-admit", action="store_true", help="Wartende nicht automatisch einlassen (Praxis)")
    p.add_argument("--duration", type=float, default=0, help="nach so vielen Sekunden beenden (0 = bis Strg+C)")
    p.add_argument("--timeout", type=float, default=120, help="höchstens so lange auf die Verbindung warten")
    p.set_defaults(func=cmd_call)
