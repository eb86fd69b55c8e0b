"""The audit chain (issue 14): written with the events, verified by `sprechzimmer audit verify`, which names the
first position where the stored history was altered, deleted, inserted or reordered, in German, with exit 1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from application import audit, erasure
from infrastructure.settings import Settings
from interfaces.bootstrap import Container, build
from interfaces.cli.main import main
from tests.conftest import server_env


class Ledger(Aggregate):
    """A stand-in for the service's aggregates: with an org_id its events are encrypted under that key."""

    @event("Opened")
    def __init__(self, org_id: UUID | None = None) -> None:
        self.org_id = org_id

    @event("Noted")
    def note(self, text: str, org_id: UUID | None) -> None:
        pass


@pytest.fixture
def store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    """A container on the test's store, and an environment under which the CLI (in this process) sees it."""
    env = server_env(settings)
    for name in ("DATABASE_URL", "KEYSTORE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith(("SPRECHZIMMER_", "SEPA_", "SELLER_")) or name in ("DATABASE_URL", "KEYSTORE_URL"):
            monkeypatch.setenv(name, value)
    container = build(settings, catch_up_after_save=False)
    yield container
    container.close()


def append(container: Container, count: int, org_id: UUID | None = None) -> None:
    """`count` events, one save each (the first opens the ledger)."""
    ledger = Ledger(org_id)
    container.services.events.save(ledger)
    for i in range(count - 1):
        ledger.note(f"Eintrag {i}", org_id)
        container.services.events.save(ledger)


def sql(container: Container, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Raw SQL on the events database, the way someone with access to the files or the server would change it;
    {events} and {pos} name the events table and its position column in either dialect."""
    chain = container.chain
    assert chain is not None
    with chain.transaction() as cur:
        cur.execute(statement.format(events=chain.events_table, pos=chain.position_column), params)
        return list(cur.fetchall()) if statement.startswith("SELECT") else []


def verify(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def first_position(output: str) -> int:
    marker = "erste Abweichung bei Position "
    assert marker in output, output
    return int(output.split(marker)[1].split(":")[0])


def test_an_intact_history_verifies_and_each_event_has_its_chain_row(store: Container,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 12)
    rows = sql(store, "SELECT position FROM audit_chain ORDER BY position")
    assert [r[0] for r in rows] == [r[0] for r in sql(store, "SELECT {pos} FROM {events} ORDER BY {pos}")]
    code, output = verify(capsys)
    assert code == 0, output
    assert "Verlauf unverändert: 12 Ereignisse" in output


def test_one_altered_byte_is_found_at_its_position(store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 10)
    state = bytes(sql(store, "SELECT state FROM {events} WHERE {pos} = 6")[0][0])
    altered = state[:-3] + bytes([state[-3] ^ 1]) + state[-2:]
    sql(store, "UPDATE {events} SET state = %s WHERE {pos} = 6", (altered,))
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 6 and "verändert" in output


def test_a_deleted_row_is_found_at_its_position(store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 10)
    sql(store, "DELETE FROM {events} WHERE {pos} = 4")
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 4 and "gelöscht" in output


def test_a_deleted_event_with_its_chain_row_breaks_the_chain_right_after(
        store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 10)
    sql(store, "DELETE FROM {events} WHERE {pos} = 4")
    sql(store, "DELETE FROM audit_chain WHERE position = 4")
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 5 and "zwischen Position 3 und 5" in output


def test_an_inserted_row_is_found_at_its_position(store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 10)
    stream = uuid4()
    sql(store, "INSERT INTO {events} ({pos}, originator_id, originator_version, topic, state) "
               "VALUES (%s, %s, 1, 'tests.audit:Ledger.Opened', %s)",
        (11, stream.hex if store.settings.embedded else stream, b'{"org_id": null}'))
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 11 and "eingefügt" in output


def test_two_swapped_rows_are_found_at_the_first(store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    append(store, 10)
    sql(store, "UPDATE {events} SET {pos} = 1000 WHERE {pos} = 3")
    sql(store, "UPDATE {events} SET {pos} = 3 WHERE {pos} = 7")
    sql(store, "UPDATE {events} SET {pos} = 7 WHERE {pos} = 1000")
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 3


def _rewrite_from(container: Container, position: int) -> None:
    """What an operator with write access and the audit key could do: change an event and recompute the chain
    and every stored checkpoint from there, so that the store agrees with itself again."""
    state = bytes(sql(container, "SELECT state FROM {events} WHERE {pos} = %s", (position,))[0][0])
    sql(container, "UPDATE {events} SET state = %s WHERE {pos} = %s",
        (state.replace(b"Eintrag", b"Eintrxg"), position))
    previous = bytes(sql(container, "SELECT chain FROM audit_chain WHERE position = %s", (position - 1,))[0][0])
    rows = sql(container, "SELECT {pos}, originator_id, originator_version, topic, state FROM {events} "
                          "WHERE {pos} >= %s ORDER BY {pos}", (position,))
    for pos, stream, version, topic, state in rows:
        stream_bytes = stream.bytes if isinstance(stream, UUID) else bytes.fromhex(stream)
        digest = audit.record_digest(stream_bytes, version, topic, bytes(state))
        previous = audit.link(previous, pos, digest)
        sql(container, "UPDATE audit_chain SET digest = %s, chain = %s WHERE position = %s", (digest, previous, pos))
    for cp in container.chain.checkpoints():  # type: ignore[union-attr]
        if cp.position >= position:
            sql(container, "DELETE FROM audit_checkpoints WHERE position = %s", (cp.position,))
            head = bytes(sql(container, "SELECT chain FROM audit_chain WHERE position = %s", (cp.position,))[0][0])
            assert container.audit_key is not None and container.chain is not None
            container.chain.add_checkpoint(audit.StoredCheckpoint(
                cp.position, head, cp.at, cp.public_key,
                container.audit_key.sign(audit.checkpoint_message(cp.position, head, cp.at))))


def test_a_rewrite_by_the_operator_is_caught_by_an_exported_checkpoint(
        store: Container, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    append(store, 5)
    assert main(["audit", "checkpoint"]) == 0  # stored at position 5
    append(store, 5)
    export = tmp_path / "pruefpunkt.json"
    assert main(["audit", "checkpoint", "--export", str(export)]) == 0
    assert json.loads(export.read_text())["position"] == 10
    append(store, 10)
    assert main(["audit", "checkpoint"]) == 0  # stored at position 20
    capsys.readouterr()
    _rewrite_from(store, 8)
    assert verify(capsys)[0] == 0  # the store agrees with itself: only the auditor's copy tells
    code, output = verify(capsys, "--checkpoint", str(export))
    assert code == 1
    assert first_position(output) == 10
    assert "zwischen Position 6 und 10 wurde umgeschrieben" in output


def test_a_rewritten_tail_without_the_key_fails_the_stored_checkpoint(
        store: Container, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    append(store, 10)
    export = tmp_path / "pruefpunkt.json"
    assert main(["audit", "checkpoint", "--export", str(export)]) == 0
    append(store, 10)
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    other = build(store.settings, catch_up_after_save=False)  # a store whose audit key the attacker lacks
    other.audit_key = type(store.audit_key)(bytes(32))  # type: ignore[misc]
    _rewrite_from(other, 11)
    other.close()
    code, output = verify(capsys, "--checkpoint", str(export))
    assert code == 1
    assert first_position(output) == 20 and "Signatur ungültig" in output


def test_an_erasure_between_two_checkpoints_still_verifies(store: Container,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    org_id = uuid4()
    store.services.keystore.create(org_id)
    append(store, 5)
    assert main(["audit", "checkpoint"]) == 0
    append(store, 5, org_id)
    append(store, 5)
    plan = erasure.erase(store.services, org_id, date(2026, 11, 30))  # the procedure, with its receipt
    assert plan.status == "erased" and plan.deleted["events"] == 5
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    code, output = verify(capsys)
    assert code == 0, output
    # 10 events of the ledgers and the receipt's two (started, completed)
    assert "12 Ereignisse, 5 gelöschte (Grabsteine), 2 signierte Prüfpunkte" in output
    tombstones = sql(store, "SELECT position FROM audit_chain WHERE tombstone = %s",
                     (1 if store.settings.embedded else True,))
    assert [r[0] for r in tombstones] == [6, 7, 8, 9, 10]
    assert sql(store, "SELECT COUNT(*) FROM {events} WHERE {pos} BETWEEN 6 AND 10")[0][0] == 0


def test_a_tombstone_made_outside_the_erasure_procedure_is_reported(
        store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    """Someone hides events the way erasure does, with the chain left intact: tombstone flag set, event deleted,
    but no erasure receipt exists. The chain alone cannot tell; the missing receipt does."""
    append(store, 6)
    true = 1 if store.settings.embedded else True
    sql(store, "UPDATE audit_chain SET tombstone = %s WHERE position IN (3, 4)", (true,))
    sql(store, "DELETE FROM {events} WHERE {pos} IN (3, 4)")
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 3
    assert "Position 3: gelöscht (Grabstein) ohne Löschprotokoll – das Ereignis wurde außerhalb des " \
           "Löschverfahrens entfernt" in output
    assert "außerdem: Position 4: gelöscht (Grabstein) ohne Löschprotokoll" in output
    assert "Kette unterbrochen" not in output  # the chain itself still verifies: only the receipt check sees it


def test_deleting_an_organisations_events_without_starting_its_receipt_is_reported(
        store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    org_id = uuid4()
    store.services.keystore.create(org_id)
    append(store, 2)
    append(store, 3, org_id)
    append(store, 1)  # keeps SQLite's highest rowid alive, as the receipt does in the procedure
    assert store.services.contracts is not None
    assert store.services.contracts.purger.delete_events(org_id)["events"] == 3  # skipping erasure.erase
    code, output = verify(capsys)
    assert code == 1
    assert first_position(output) == 3
    assert "Position 3: gelöscht (Grabstein), aber das zugehörige Löschprotokoll fehlt im Verlauf" in output

    # Running the procedure afterwards writes the receipt: the same tombstones are now covered.
    erasure.erase(store.services, org_id, date(2026, 11, 30))
    code, output = verify(capsys)
    assert code == 0, output
    assert "3 gelöschte (Grabsteine)" in output


def test_concurrent_writers_keep_one_gap_free_chain(store: Container, capsys: pytest.CaptureFixture[str]) -> None:
    others = [build(store.settings, catch_up_after_save=False) for _ in range(2)]
    errors: list[BaseException] = []

    def write(container: Container) -> None:
        try:
            append(container, 15)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(c,)) for c in [store, *others] for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for other in others:
        other.close()
    assert not errors
    chained = [r[0] for r in sql(store, "SELECT position FROM audit_chain ORDER BY position")]
    assert chained == [r[0] for r in sql(store, "SELECT {pos} FROM {events} ORDER BY {pos}")]
    assert len(chained) == 90
    code, output = verify(capsys)
    assert code == 0, output


def test_the_inline_hashes_are_crypto_h_of_lp() -> None:
    """Auditors recompute the chain with any BLAKE2b: the layout must be exactly design/crypto.md's lp()."""
    from infrastructure import crypto

    stream, state, previous, digest = bytes(range(16)), b"\x00state\xff", bytes(32), bytes(range(32))
    assert audit.record_digest(stream, 7, "sprechzimmer.X", state) == crypto.h(
        "vdc/v1/audit-record", stream, 7, "sprechzimmer.X", state)
    assert audit.link(previous, 2**40, digest) == crypto.h("vdc/v1/audit", previous, 2**40, digest)


def test_the_worker_signs_after_many_events_or_an_hour(settings: Settings, clock: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    container = build(settings, clock=clock, catch_up_after_save=False)
    try:
        assert container.chain is not None
        job = next(j for j in container.scheduler.jobs if j.name == "audit-checkpoint")
        assert job.run(container.services) == 0  # nothing to sign yet
        append(container, 3)
        clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
        assert job.run(container.services) == 1
        append(container, 2)
        clock.advance(minutes=30)
        assert job.run(container.services) == 0  # neither an hour nor CHECKPOINT_EVERY events
        monkeypatch.setattr(audit, "CHECKPOINT_EVERY", 2)
        assert job.run(container.services) == 1
        monkeypatch.setattr(audit, "CHECKPOINT_EVERY", 1000)
        clock.advance(minutes=61)
        assert job.run(container.services) == 1  # hourly, even without new events
        assert [cp.position for cp in container.chain.checkpoints()] == [3, 5, 5]
    finally:
        container.close()


def test_an_event_is_never_stored_without_its_chain_row(store: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    from infrastructure import audit_chain

    append(store, 2)

    def broken(*args: Any) -> Any:
        raise RuntimeError("chain row not computable")

    with monkeypatch.context() as patched, pytest.raises(Exception):  # noqa: B017 (the driver's error type varies)
        patched.setattr(audit_chain, "chain_rows", broken)
        append(store, 1)
    assert sql(store, "SELECT COUNT(*) FROM {events}")[0][0] == 2
    assert sql(store, "SELECT COUNT(*) FROM audit_chain")[0][0] == 2
