"""The login read model (projections/logins.py) says what the organisation's aggregates say — after approvals,
a revocation with keyring rotation, and after a rebuild from zero — so a login needs no replay (issue 13.3)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from interfaces.client import devices
from interfaces.client.sdk import Client
from tests.conftest import LiveServer
from tests.devices.helpers import ADMIN, ORG, admin_client, approved_device


def test_login_read_model_matches_the_aggregates(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    approved_device(admin, new_client, "praxis-pc")
    leaving = approved_device(admin, new_client, "altes-tablet")
    assert leaving.session is not None
    devices.revoke(admin, leaving.session.device_id)  # rotates the keyring: the others get version 2
    services = server.container.services
    organisation = services.events.organisation_by_short_name(ORG)
    assert organisation is not None
    user = organisation.user(ADMIN)
    assert user is not None

    def records() -> dict[str, object]:
        found = {}
        for device_id in _device_ids(server, organisation.org_id):
            record = services.logins.lookup(ORG.lower(), ADMIN.upper(), device_id)  # names match as for login
            assert record is not None and record.user is not None and record.device is not None
            device = services.events.device(organisation.org_id, device_id)
            assert device is not None
            assert (record.org_id, record.org_short, record.org_sign_pk) == \
                   (organisation.org_id, organisation.short_name, organisation.org_sign_pk)
            assert (record.user.short_name, record.user.role, record.user.cert, record.user.pk_pw) == \
                   (user.short_name, user.role, user.cert, user.pk_pw)
            assert (record.device.status, record.device.cert, record.device.grant, record.device.approver_tag) == \
                   (device.status, device.cert, device.latest_grant, device.approver_tag)
            found[device_id] = record
        return found

    before = records()
    assert {r.device.grant["version"] if r.device.grant else 0 for r in before.values()} == {0, 2}  # type: ignore
    server.container.projections.rebuild()
    assert records() == before


def _device_ids(server: LiveServer, org_id: UUID) -> list[str]:
    from projections.devices import DeviceDirectory

    with server.container.state_db.transaction() as cur:
        return DeviceDirectory.device_ids(cur, org_id)
