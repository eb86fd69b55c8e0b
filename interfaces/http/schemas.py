"""Request and response schemas: every body is validated here, with one German message per field."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat

from domain import values

MSG: dict[str, str | list[Any] | dict[Any, Any]] = {
    "required": values.MSG_REQUIRED,
    "null": "Dieses Feld darf nicht leer sein.",
    "invalid": "Ungültiger Wert.",
}
_HEX = re.compile(r"^[0-9a-f]*$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class GermanSchema(Schema):
    """Unknown fields are refused: a typo in a field name must not silently drop data."""

    error_messages = {  # noqa: RUF012 - marshmallow's own declaration is a plain class attribute
        "unknown": "Unbekanntes Feld.", "type": "Ungültige Daten: ein JSON-Objekt wird erwartet.",
    }

    class Meta:
        unknown = RAISE


def _text(max_len: int, required: bool = True, min_len: int = 1, **kw: Any) -> fields.String:
    checks = [validate.Length(min=min_len if required else 0, max=max_len,
                              error=f"Bitte {min_len} bis {max_len} Zeichen eingeben.")]
    if "validate" in kw:
        checks.append(kw.pop("validate"))
    return fields.String(required=required, load_default=None if not required else fields.missing_,
                         allow_none=not required, validate=checks,
                         error_messages={**MSG, "invalid": "Bitte einen Text eingeben."}, **kw)


def _choice(options: tuple[str, ...]) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(options, error="Bitte einen der Werte wählen: "
                                                                 + ", ".join(options) + "."),
                         error_messages={**MSG, "invalid": "Bitte einen Text eingeben."})


def _int(minimum: int, maximum: int) -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=minimum, max=maximum,
                          error=f"Bitte eine Zahl von {minimum} bis {maximum} angeben."),
                          error_messages={**MSG, "invalid": "Bitte eine ganze Zahl angeben."})


def _true(message: str) -> fields.Boolean:
    return fields.Boolean(required=True, validate=validate.Equal(True, error=message),
                          error_messages={**MSG, "invalid": "Bitte true oder false angeben."})


def _hex(n_bytes: int | None = None, max_bytes: int = 4096) -> fields.String:
    def check(value: str) -> None:
        if not _HEX.match(value) or len(value) % 2:
            raise ValidationError("Erwartet wird eine Hex-Zeichenkette (Kleinbuchstaben).")
        if n_bytes is not None and len(value) != 2 * n_bytes:
            raise ValidationError(f"Erwartet werden genau {n_bytes} Bytes.")

    return fields.String(required=True, validate=[validate.Length(max=2 * max_bytes,
                                                                  error="Der Wert ist zu lang."), check],
                         error_messages={**MSG, "invalid": "Bitte eine Hex-Zeichenkette angeben."})


def _optional_hex(n_bytes: int) -> fields.String:
    checks = _hex(n_bytes)
    return fields.String(required=False, allow_none=True, load_default=None, validate=checks.validators,
                         error_messages=checks.error_messages)


class TrimmedString(fields.String):
    """Short names are trimmed on arrival: surrounding spaces are a typing slip, not part of the name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _short_name() -> fields.String:
    def check(value: str) -> None:
        if not values.is_short_name(value):
            raise ValidationError(values.MSG_SHORT_NAME)

    return TrimmedString(required=True, validate=[validate.Length(max=64, error=values.MSG_SHORT_NAME), check],
                         error_messages={**MSG, "invalid": "Bitte einen Text eingeben."})


def _nine_digits(value: str | None) -> None:
    if value and not values.is_nine_digits(value):
        raise ValidationError(values.MSG_NINE_DIGITS)


def _postcode(value: str) -> None:
    if not values.is_postcode(value):
        raise ValidationError(values.MSG_POSTCODE)


def _email(value: str) -> None:
    if not values.is_email(value):
        raise ValidationError(values.MSG_EMAIL)


def _phone(value: str) -> None:
    try:
        number = phonenumbers.parse(value, "DE")
    except phonenumbers.NumberParseException:
        number = None
    # "possible", not "valid": the reference product's own example number must be accepted.
    possible = phonenumbers.ValidationResult.IS_POSSIBLE
    if number is None or phonenumbers.is_possible_number_with_reason(number) != possible:
        raise ValidationError("Bitte eine gültige Telefonnummer eingeben.")


class EmptySchema(GermanSchema):
    """A command without fields: an empty JSON object, and nothing else."""


MSG_VAT_ID = "Bitte eine gültige Umsatzsteuer-Identifikationsnummer mit Länderkennung eingeben (z. B. ATU13585627)."


def _vat_id(value: str) -> None:
    """An EU VAT id with its country prefix and check digits (python-stdnum); whether it is registered, VIES knows."""
    if not vat.is_valid(value):
        raise ValidationError(MSG_VAT_ID)


class OrganisationSchema(GermanSchema):
    name = _text(200)
    kind = _choice(values.ORGANISATION_KINDS)
    size = _choice(values.ORGANISATION_SIZES)
    specialty = _text(100, required=False)
    bsnr = _text(9, required=False, validate=_nine_digits)
    lanr = _text(9, required=False, validate=_nine_digits)
    # A practice outside Germany is invoiced under reverse charge, which names its VAT id (§ 14a Abs. 1 UStG).
    vat_id = _text(20, required=False, validate=_vat_id)

    @post_load
    def _compact_vat_id(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("vat_id"):
            data["vat_id"] = vat.compact(data["vat_id"])  # "ATU 135 856 27" is stored as ATU13585627
        return data


class AddressSchema(GermanSchema):
    street = _text(100)
    number = _text(10)
    addition = _text(100, required=False)
    postcode = _text(5, min_len=5, validate=_postcode)
    city = _text(100)


class MainUserSchema(GermanSchema):
    salutation = _choice(values.SALUTATIONS)
    title = _text(30, required=False)
    first_name = _text(100)
    last_name = _text(100)
    email = _text(254, validate=_email)
    phone = _text(40, validate=_phone)


class CredentialsSchema(GermanSchema):
    org_short = _short_name()
    user_short = _short_name()
    device_name = _text(64)


class BillingSchema(GermanSchema):
    account_holder = _text(70)
    iban = _text(42)
    bic = _text(11, min_len=8)
    sepa_mandate = _true("Bitte das SEPA-Lastschriftmandat erteilen.")

    @validates_schema
    def check_bank(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:
            iban = IBAN(data["iban"])
        except SchwiftyException:
            raise ValidationError("Die IBAN ist ungültig (Prüfsumme oder Länge).", "iban") from None
        try:
            bic = BIC(data["bic"])
        except SchwiftyException:
            raise ValidationError("Der BIC ist ungültig.", "bic") from None
        known = iban.bic
        if known is not None and str(known)[:8] != str(bic)[:8]:
            raise ValidationError("Der BIC passt nicht zur Bank der IBAN.", "bic")
        data["iban"], data["bic"] = str(iban.compact), str(bic.compact)


class ConfirmationsSchema(GermanSchema):
    avv_accepted = _true("Bitte dem Auftragsverarbeitungsvertrag zustimmen.")
    credentials_noted = _true("Bitte bestätigen, dass Sie Ihre Zugangsdaten notiert haben.")
    # The versions of the legal texts the form showed (optional): they must be the current ones.
    versions = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                           values=fields.String(validate=validate.Length(max=40)), required=False,
                           load_default=None)


class GrantSchema(GermanSchema):
    sealed = _hex(max_bytes=4096)
    sig = _hex(64)


class KeyringHeadSchema(GermanSchema):
    """The org's signed lp("vdc/v1/keyring-head", org_id, version, rotated_at) (§8a.11)."""

    version = _int(1, 1_000_000)
    rotated_at = _text(40)
    sig = _hex(64)


class HeadedGrantSchema(GrantSchema):
    """The mp grant of a rotation carries the head of its version, so a recovering device learns it."""

    head = fields.Nested(KeyringHeadSchema, required=True, error_messages=MSG)


class UserKeysSchema(GermanSchema):
    salt = _hex(16)
    ops = _int(1, 16)
    mem = _int(8 * 1024, 4 * 1024**3)
    pk_pw = _hex(32)
    cert = _hex(64)


class MasterKeysSchema(GermanSchema):
    salt = _hex(16)
    ops = _int(1, 16)
    mem = _int(8 * 1024, 4 * 1024**3)
    sign_pk = _hex(32)
    box_pk = _hex(32)
    anchor = _hex(32)
    grant = fields.Nested(GrantSchema, required=True, error_messages=MSG)
    cert = _optional_hex(64)  # org signature over the mp public keys (transcripts.master_keys_cert)


class DeviceKeysSchema(GermanSchema):
    device_id = fields.String(required=True, validate=validate.Regexp(
        _DEVICE_ID, error="Die Geräte-ID hat 1 bis 64 Zeichen (Buchstaben, Ziffern, - und _)."), error_messages=MSG)
    sign_pk = _hex(32)
    box_pk = _hex(32)
    cert = _hex(64)
    approved_at = _text(40)
    grant = fields.Nested(GrantSchema, required=True, error_messages=MSG)


class SignaturesSchema(GermanSchema):
    org = _hex(64)
    master = _hex(64)
    password = _hex(64)
    device = _hex(64)


class RegistrationCryptoSchema(GermanSchema):
    org_id = fields.UUID(required=True, error_messages={**MSG, "invalid_uuid": "Bitte eine UUID angeben."})
    origin = _text(200)
    org_sign_pk = _hex(32)
    org_box_pk = _hex(32)
    user = fields.Nested(UserKeysSchema, required=True, error_messages=MSG)
    master = fields.Nested(MasterKeysSchema, required=True, error_messages=MSG)
    device = fields.Nested(DeviceKeysSchema, required=True, error_messages=MSG)
    signatures = fields.Nested(SignaturesSchema, required=True, error_messages=MSG)


class RegistrationSchema(GermanSchema):
    plan = _choice(values.PLANS)
    organisation = fields.Nested(OrganisationSchema, required=True, error_messages=MSG)
    address = fields.Nested(AddressSchema, required=True, error_messages=MSG)
    main_user = fields.Nested(MainUserSchema, required=True, error_messages=MSG)
    credentials = fields.Nested(CredentialsSchema, required=True, error_messages=MSG)
    billing = fields.Nested(BillingSchema, required=False, allow_none=True, load_default=None, error_messages=MSG)
    confirmations = fields.Nested(ConfirmationsSchema, required=True, error_messages=MSG)
    crypto = fields.Nested(RegistrationCryptoSchema, required=True, error_messages=MSG)

    @validates_schema
    def check_plan_and_billing(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("plan") == "plus" and not data.get("billing"):
            raise ValidationError("Für den Tarif plus sind Rechnungsdaten erforderlich.", "billing")
        if data.get("plan") == "basis" and data.get("billing"):
            raise ValidationError("Im Tarif basis werden keine Rechnungsdaten gespeichert.", "billing")


class RegistrationResultSchema(Schema):
    org_id = fields.UUID()
    org_short = fields.String()
    user_short = fields.String()
    device_id = fields.String()
    plan = fields.String()
    mandate_reference = fields.String(allow_none=True)


class AuthStartSchema(GermanSchema):
    org = _text(64)
    user = _text(64)
    device_id = _text(64)
    origin = _text(200)


class KdfSchema(Schema):
    alg = fields.String()
    ops = fields.Integer()
    mem = fields.Integer()


class ChallengeSchema(Schema):
    challenge_id = fields.String()
    nonce = fields.String()
    salt = fields.String()
    kdf = fields.Nested(KdfSchema)


class AuthFinishSchema(GermanSchema):
    challenge_id = _text(64)
    sig_pw = _hex(64)
    sig_dev = _hex(64)


class LegalPendingSchema(Schema):
    document = fields.String()
    version = fields.String()


class LegalAcceptanceSchema(GermanSchema):
    documents = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                            values=fields.String(validate=validate.Length(max=40)), required=True,
                            error_messages=MSG)


class LoginResultSchema(Schema):
    token = fields.String()
    org_id = fields.UUID()
    org_short = fields.String()
    user_short = fields.String()
    role = fields.String()
    device_id = fields.String()
    org_sign_pk = fields.String()
    grant = fields.Dict()
    device_cert = fields.Dict()
    user_cert = fields.String()
    expires_in = fields.Integer()
    approver_tag = fields.String(allow_none=True)
    # Legal texts whose current version the organisation has not accepted yet (asked for after login).
    legal_pending = fields.List(fields.Nested(LegalPendingSchema), dump_default=[])
    keyring_head = fields.Dict(allow_none=True)


class SessionInfoSchema(Schema):
    org_id = fields.UUID()
    org_short = fields.String()
    user_short = fields.String()
    role = fields.String()
    device_id = fields.String()
    plan = fields.String()
    org_sign_pk = fields.String()
    grant = fields.Dict(allow_none=True)
    legal_pending = fields.List(fields.Nested(LegalPendingSchema), dump_default=[])
    user_cert = fields.String()
    password = fields.Dict()
    keyring_head = fields.Dict(allow_none=True)


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class StatusSchema(Schema):
    status = fields.String()
    database = fields.String()
    signalling = fields.String()  # "ok" | "degraded": the call signalling hub reaches its database
    event_position = fields.Integer()
    projections = fields.Dict(keys=fields.String(), values=fields.Integer())
    # a failing read model: {"error": German text, "failures": in a row, "since"/"next_attempt": Berlin time}
    projection_faults = fields.Dict(keys=fields.String(), values=fields.Dict())
    warnings = fields.List(fields.String())  # German: unsafe shortcuts allowed by SPRECHZIMMER_INSECURE_DEV=1
    organisations = fields.Dict(keys=fields.String(), values=fields.Integer())
    billing = fields.Dict(keys=fields.String(), values=fields.String())  # month due and ok|pending|overdue
