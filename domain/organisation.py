"""The organisation (Praxis) with its users, and the claim that makes its short name unique."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.base import Conflict, OrgAggregate, global_id, short_name_key


class OrganisationShortName(OrgAggregate):
    """Claims one organisation short name service-wide. Its id is derived from the name, so a second claim
    of the same (trimmed, case-folded) name collides in the event store itself and is never stored."""

    TOPIC = "sprechzimmer.OrganisationShortName"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.OrganisationShortName.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.OrganisationShortName.Created"

    class Claimed(Created):
        TOPIC = "sprechzimmer.OrganisationShortName.Claimed"
        short_name: str

    def __init__(self, org_id: UUID, short_name: str):
        self.org_id = org_id
        self.short_name = short_name

    @staticmethod
    def id_for(short_name: str) -> UUID:
        return global_id("organisation-short-names", short_name_key(short_name))

    @classmethod
    def claim(cls, org_id: UUID, short_name: str) -> OrganisationShortName:
        return cls._create(cls.Claimed, id=cls.id_for(short_name), org_id=org_id, short_name=short_name.strip())


@dataclass
class User:
    """A login of the organisation. The password itself never reaches the server: only the public key
    derived from it (pk_pw), its salt and KDF parameters, and the org-signed certificate."""

    short_name: str
    role: str
    pw_salt: str
    pw_ops: int
    pw_mem: int
    pk_pw: str
    cert: str
    active: bool = True

    @property
    def key(self) -> str:
        return short_name_key(self.short_name)


class Organisation(OrgAggregate):
    TOPIC = "sprechzimmer.Organisation"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.Organisation.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.Organisation.Created"

    class Registered(Created):
        """Registrierung: profile, the public org keys, the master-password verifier and the main user."""

        TOPIC = "sprechzimmer.Organisation.Registered"
        short_name: str
        profile: dict[str, Any]
        org_sign_pk: str
        org_box_pk: str
        master: dict[str, Any]
        mp_grant: dict[str, Any]
        main_user: dict[str, Any]

    def __init__(self, org_id: UUID, short_name: str, profile: dict[str, Any], org_sign_pk: str, org_box_pk: str,
                 master: dict[str, Any], mp_grant: dict[str, Any], main_user: dict[str, Any]):
        self.org_id = org_id
        self.short_name = short_name
        self.profile = profile
        self.org_sign_pk = org_sign_pk
        self.org_box_pk = org_box_pk
        self.master = master
        self.mp_grants = {int(mp_grant["version"]): mp_grant}
        first = User(**main_user)
        self.users: dict[str, User] = {first.key: first}
        self.main_user_key = first.key

    @classmethod
    def register(cls, org_id: UUID, short_name: str, profile: dict[str, Any], org_sign_pk: str, org_box_pk: str,
                 master: dict[str, Any], mp_grant: dict[str, Any], main_user: dict[str, Any]) -> Organisation:
        if main_user.get("role") != "admin":
            raise Conflict("Der Hauptnutzer muss Administrator sein.", "main_user")
        return cls._create(
            cls.Registered, id=org_id, org_id=org_id, short_name=short_name.strip(), profile=profile,
            org_sign_pk=org_sign_pk, org_box_pk=org_box_pk, master=master, mp_grant=mp_grant, main_user=main_user,
        )

    def user(self, short_name: str) -> User | None:
        return self.users.get(short_name_key(short_name))

    @property
    def keyring_version(self) -> int:
        return max(self.mp_grants)
