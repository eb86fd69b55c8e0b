"""The organisation (Praxis) with its users, and the claim that makes its short name unique."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.base import Conflict, DomainError, OrgAggregate, global_id, short_name_key


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
    # An invited user's proof of the invite code over pk_pw (§8a.10); the admin client that issued the
    # code checks it before it certifies the user.
    invite_proof: str = ""

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

    class UserAdded(Event):
        """Benutzer anlegen: the employee typed their own password; cert is empty for an invited user
        until an admin client certifies it."""

        TOPIC = "sprechzimmer.Organisation.UserAdded"
        user: dict[str, Any]
        by: str

        def apply(self, aggregate: Organisation) -> None:
            user = User(**self.user)
            aggregate.users[user.key] = user

    class UserActivation(Event):
        TOPIC = "sprechzimmer.Organisation.UserActivation"
        user_key: str
        active: bool
        by: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.users[self.user_key].active = self.active

    class PasswordChanged(Event):
        """A new pk_pw: by the user (old password), an admin (org-signed certificate), an invite or recovery."""

        TOPIC = "sprechzimmer.Organisation.PasswordChanged"
        user_key: str
        pw_salt: str
        pw_ops: int
        pw_mem: int
        pk_pw: str
        cert: str
        how: str

        def apply(self, aggregate: Organisation) -> None:
            user = aggregate.users[self.user_key]
            user.pw_salt, user.pw_ops, user.pw_mem, user.pk_pw = self.pw_salt, self.pw_ops, self.pw_mem, self.pk_pw
            user.cert, user.invite_proof = self.cert, ""

    class RoleChanged(Event):
        """admin or staff; the role is inside the user certificate, so a new org signature comes with it."""

        TOPIC = "sprechzimmer.Organisation.RoleChanged"
        user_key: str
        role: str
        cert: str
        by: str

        def apply(self, aggregate: Organisation) -> None:
            user = aggregate.users[self.user_key]
            user.role, user.cert = self.role, self.cert

    class UserCertified(Event):
        TOPIC = "sprechzimmer.Organisation.UserCertified"
        user_key: str
        cert: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.users[self.user_key].cert = self.cert

    class InviteProven(Event):
        """The invited user's device sent its proof of the invite code over pk_pw (§8a.10)."""

        TOPIC = "sprechzimmer.Organisation.InviteProven"
        user_key: str
        proof: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.users[self.user_key].invite_proof = self.proof

    class UserInvited(Event):
        """A one-time invite code, stored only as its keyed tag, valid 72 h."""

        TOPIC = "sprechzimmer.Organisation.UserInvited"
        tag: str
        user_short: str
        role: str
        expires: float
        by: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.invites[self.tag] = {"user_short": self.user_short, "role": self.role, "expires": self.expires}

    class InviteRedeemed(Event):
        TOPIC = "sprechzimmer.Organisation.InviteRedeemed"
        tag: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.invites.pop(self.tag, None)

    class MasterPasswordChanged(Event):
        TOPIC = "sprechzimmer.Organisation.MasterPasswordChanged"
        master: dict[str, Any]
        mp_grant: dict[str, Any]
        by: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.master = self.master
            aggregate.mp_grants = {int(self.mp_grant["version"]): self.mp_grant}  # old mp grants deleted

    class MasterKeysCertified(Event):
        """The org signature over the master-password public keys, added where it was missing."""

        TOPIC = "sprechzimmer.Organisation.MasterKeysCertified"
        cert: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.master = {**aggregate.master, "cert": self.cert}

    class KeyringRotated(Event):
        """Keyring v+1 (new data key); the mp grant of the new version. Device grants are on the devices."""

        TOPIC = "sprechzimmer.Organisation.KeyringRotated"
        version: int
        mp_grant: dict[str, Any]
        reason: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.mp_grants[self.version] = self.mp_grant

    class ProfileChanged(Event):
        """Stammdaten: organisation, address, main user's contact data. The short name never changes."""

        TOPIC = "sprechzimmer.Organisation.ProfileChanged"
        organisation: dict[str, Any]
        address: dict[str, Any]
        main_user: dict[str, Any]
        by: str

        def apply(self, aggregate: Organisation) -> None:
            aggregate.profile = {**aggregate.profile, "organisation": self.organisation, "address": self.address,
                                 "main_user": self.main_user}

    class LegalAccepted(Event):
        """An administrator accepted new versions of legal texts (Nutzungsbedingungen, AVV) after login."""

        TOPIC = "sprechzimmer.Organisation.LegalAccepted"
        documents: dict[str, str]  # document name → accepted version
        by: str  # the user's key
        on: str  # ISO date (Europe/Berlin)

        def apply(self, aggregate: Organisation) -> None:
            confirmations = dict(aggregate.profile.get("confirmations") or {})
            confirmations["accepted"] = {**(confirmations.get("accepted") or {}), **self.documents}
            if "avv" in self.documents:
                confirmations["avv_accepted_on"] = self.on
            aggregate.profile = {**aggregate.profile, "confirmations": confirmations}

    class RecoveryNoticed(Event):
        """Every master-password recovery attempt, successful or not: shown on all devices, mailed to admins."""

        TOPIC = "sprechzimmer.Organisation.RecoveryNoticed"
        outcome: str  # "failed" | "succeeded" | "completed"
        device_name: str
        at: float
        ip_prefix: str

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
        self.invites: dict[str, dict[str, Any]] = {}

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

    @property
    def keyring_head(self) -> dict[str, Any] | None:
        """The org-signed head of the current keyring version (§8a.11); None before the first rotation."""
        head = self.mp_grants[self.keyring_version].get("head")
        return dict(head) if head else None

    # --- users (Stammdaten → Benutzer) ----------------------------------------------------------------

    def require_user(self, user_key: str) -> User:
        user = self.users.get(short_name_key(user_key))
        if user is None:
            raise DomainError("Diesen Benutzer gibt es in dieser Organisation nicht.", "user")
        return user

    def add_user(self, user: dict[str, Any], by: str) -> None:
        if user.get("role") not in ("admin", "staff"):
            raise DomainError("Die Rolle muss admin oder staff sein.", "role")
        if short_name_key(user["short_name"]) in self.users:
            raise Conflict("Dieser Kurzname des Benutzers ist in der Organisation bereits vergeben.", "user_short")
        self.trigger_event(self.UserAdded, user=user, by=by)

    def _active_admins(self) -> list[User]:
        return [u for u in self.users.values() if u.active and u.role == "admin"]

    def set_active(self, user_key: str, active: bool, by: str) -> None:
        user = self.require_user(user_key)
        if user.active == active:
            raise Conflict("Der Benutzer ist bereits " + ("aktiv." if active else "deaktiviert."), "user")
        if not active and user.key == self.main_user_key:
            raise Conflict("Der Hauptnutzer kann nicht deaktiviert werden.", "user")
        if not active and user.role == "admin" and len(self._active_admins()) <= 1:
            raise Conflict("Mindestens ein aktiver Administrator muss bleiben.", "user")
        self.trigger_event(self.UserActivation, user_key=user.key, active=active, by=by)

    def change_role(self, user_key: str, role: str, cert: str, by: str) -> None:
        user = self.require_user(user_key)
        if role not in ("admin", "staff"):
            raise DomainError("Die Rolle muss admin oder staff sein.", "role")
        if user.role == role:
            raise Conflict(f"Der Benutzer hat bereits die Rolle {role}.", "role")
        if user.key == self.main_user_key:
            raise Conflict("Der Hauptnutzer bleibt Administrator.", "role")
        if user.role == "admin" and user.active and len(self._active_admins()) <= 1:
            raise Conflict("Mindestens ein aktiver Administrator muss bleiben.", "role")
        self.trigger_event(self.RoleChanged, user_key=user.key, role=role, cert=cert, by=by)

    def change_password(self, user_key: str, pw_salt: str, pw_ops: int, pw_mem: int, pk_pw: str, cert: str,
                        how: str) -> None:
        user = self.require_user(user_key)
        self.trigger_event(self.PasswordChanged, user_key=user.key, pw_salt=pw_salt, pw_ops=pw_ops, pw_mem=pw_mem,
                           pk_pw=pk_pw, cert=cert, how=how)

    def prove_invite(self, user_key: str, proof: str) -> None:
        """Kept once, for a user waiting for their certificate; the issuing admin client checks it."""
        user = self.users.get(user_key)
        if user is not None and not user.cert and not user.invite_proof:
            self.trigger_event(self.InviteProven, user_key=user.key, proof=proof)

    def certify_user(self, user_key: str, cert: str) -> None:
        user = self.require_user(user_key)
        self.trigger_event(self.UserCertified, user_key=user.key, cert=cert)

    def invite(self, tag: str, user_short: str, role: str, expires: float, by: str) -> None:
        if role not in ("admin", "staff"):
            raise DomainError("Die Rolle muss admin oder staff sein.", "role")
        self.trigger_event(self.UserInvited, tag=tag, user_short=user_short, role=role, expires=expires, by=by)

    def redeem_invite(self, tag: str, now: float) -> dict[str, Any] | None:
        """The invite for this tag, consumed; None when unknown, used or expired (one answer for all)."""
        invite = self.invites.get(tag)
        if invite is None or invite["expires"] < now:
            return None
        self.trigger_event(self.InviteRedeemed, tag=tag)
        return invite

    # --- keys ------------------------------------------------------------------------------------------

    def change_master(self, master: dict[str, Any], mp_grant: dict[str, Any], by: str) -> None:
        if int(mp_grant["version"]) != self.keyring_version:
            raise Conflict("Der Schlüsselbund wurde inzwischen erneuert. Bitte erneut anmelden.", "mp_grant")
        self.trigger_event(self.MasterPasswordChanged, master=master, mp_grant=mp_grant, by=by)

    def certify_master_keys(self, cert: str) -> None:
        if not self.master.get("cert"):
            self.trigger_event(self.MasterKeysCertified, cert=cert)

    def rotate_keyring(self, version: int, mp_grant: dict[str, Any], reason: str) -> None:
        if version != self.keyring_version + 1:
            raise Conflict("Der Schlüsselbund wurde inzwischen erneuert. Bitte erneut anmelden.", "rotation")
        self.trigger_event(self.KeyringRotated, version=version, mp_grant=mp_grant, reason=reason)

    def change_profile(self, organisation: dict[str, Any], address: dict[str, Any], main_user: dict[str, Any],
                       by: str) -> None:
        self.trigger_event(self.ProfileChanged, organisation=organisation, address=address, main_user=main_user,
                           by=by)

    def accept_legal(self, documents: dict[str, str], by: str, on: str) -> None:
        self.trigger_event(self.LegalAccepted, documents=documents, by=by, on=on)

    @property
    def accepted_legal(self) -> dict[str, str]:
        """Document name → the version accepted last (registration or a later acceptance)."""
        return dict((self.profile.get("confirmations") or {}).get("accepted") or {})

    def notice_recovery(self, outcome: str, device_name: str, at: float, ip_prefix: str) -> None:
        self.trigger_event(self.RecoveryNoticed, outcome=outcome, device_name=device_name, at=at,
                           ip_prefix=ip_prefix)

    @property
    def contact_email(self) -> str | None:
        main_user = self.profile.get("main_user") or {}
        email = main_user.get("email")
        return str(email) if email else None
