"""The audit chain's costs (issue 14), each against a floor measured in the same run on the same kind of store.

- chain cost per append: single-event saves with the chained recorder vs the library's plain recorder
  (goal: ratio ≤ 1.1);
- verify rate: `audit verify`'s walk (read, recompute every digest and link) in events per second
  (goal: ≥ 200k/s), next to a raw SELECT of the same rows.

PostgreSQL runs too when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Mapper

from application import audit
from application.eventstore import EventStore
from bench.foundation import _rate, _settings, fresh_postgres
from infrastructure.audit_chain import ChainStore
from interfaces.bootstrap import event_store_env

N_APPENDS = 2000
N_VERIFY = 100_000


class Tape(Aggregate):
    @event("Opened")
    def __init__(self) -> None:
        pass

    @event("Noted")
    def note(self, text: str) -> None:
        pass


def _store(directory: Path, database_url: str | None, chained: bool) -> EventStore:
    directory.mkdir(parents=True, exist_ok=True)
    env = event_store_env(_settings(directory, database_url))
    if not chained:
        env.pop("APPLICATION_RECORDER_TOPIC")
    return EventStore(env, lambda transcoder: Mapper(transcoder=transcoder))


def _appends(store: EventStore) -> float:
    tape = Tape()
    store.save(tape)
    started = time.perf_counter()
    for i in range(N_APPENDS):
        tape.note("x" * 150 + str(i))
        store.save(tape)
    return _rate(N_APPENDS, time.perf_counter() - started)


def _fill(store: EventStore, n: int) -> None:
    tape = Tape()
    for i in range(n - 1):
        tape.note("x" * 150 + str(i))
        if i % 500 == 499:
            store.save(tape)
    store.save(tape)


def _verify(chain: ChainStore) -> tuple[float, float, bool]:
    started = time.perf_counter()
    report = audit.verify(chain.entries(), [], lambda pk, m, s: True)
    rate = _rate(report.events, time.perf_counter() - started)
    started = time.perf_counter()
    with chain.transaction() as cur:
        rows = len(cur.execute(f"SELECT originator_id, originator_version, topic, state FROM {chain.events_table}"
                               ).fetchall())
    return rate, _rate(rows, time.perf_counter() - started), report.intact


def run(label: str, urls: list[str | None]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="sz-bench-audit-"))
    try:
        plain_store = _store(directory / "plain", urls[0], chained=False)
        plain = _appends(plain_store)
        plain_store.close()
        chained_store = _store(directory / "chained", urls[1], chained=True)
        chained = _appends(chained_store)
        chained_store.close()
        print(f"[{label}] appends: {chained:,.0f} events/s with the chain vs {plain:,.0f} without "
              f"-> cost ratio {plain / chained:.2f} (goal ≤ 1.1)")
        big = _store(directory / "big", urls[2], chained=True)
        _fill(big, N_VERIFY)
        big.close()
        rate, select, intact = _verify(ChainStore(urls[2], directory / "big"))
        print(f"[{label}] verify: {rate:,.0f} events/s ({N_VERIFY:,} events, intact={intact}) vs {select:,.0f} "
              f"rows/s raw select (goal ≥ 200,000/s)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def cli() -> None:
    run("sqlite", [None, None, None])
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        with contextlib.ExitStack() as stack:
            run("postgres", [stack.enter_context(fresh_postgres(url)) for _ in range(3)])
