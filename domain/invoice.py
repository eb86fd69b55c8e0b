"""Invoice arithmetic (Rechnungsbeträge) and invoice numbers.

Money is `Decimal` with two places throughout; binary floats would make totals drift by a cent and the SEPA
control sum would no longer match the invoices. VAT is computed once on the net total (not per line), which
is what § 14 UStG invoices show and what keeps "net + VAT = gross" exact.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.plans import Plan

CENT = Decimal("0.01")
VAT_RATE = Decimal("0.19")
"""Regular German VAT rate (Umsatzsteuer), § 12 Abs. 1 UStG."""


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceAmounts:
    lines: tuple[InvoiceLine, ...]
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
    # A practice outside Germany (postcode 99999): the place of supply is abroad (§ 3a Abs. 2 UStG), the
    # invoice carries no German VAT and says why (§ 14a Abs. 1 UStG).
    reverse_charge: bool = False

    @property
    def gross_cents(self) -> int:
        """Gross amount in cents — the unit of the SEPA debit, an exact integer."""
        return int(self.gross * 100)


def _count(name: str, value: int) -> int:
    # bool is an int subclass; True users is almost certainly a bug upstream, so refuse it.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _money(value: Decimal) -> Decimal:
    """Round to the cent, half up — the commercial rounding (kaufmännisches Runden) expected on invoices."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


REVERSE_CHARGE_NOTE = ("Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge): Der Leistungsort liegt nach "
                       "§ 3a Abs. 2 UStG im Ausland; die Rechnung enthält keine deutsche Umsatzsteuer.")


def compute_invoice(users: int, sms: int, plan: Plan, reverse_charge: bool = False) -> InvoiceAmounts:
    """Amounts of one monthly invoice: users × monthly price + SMS × SMS price, plus VAT on the net total
    (none for a recipient abroad: reverse charge)."""
    users = _count("users", users)
    sms = _count("sms", sms)
    lines = (
        InvoiceLine(
            description=f"Grundgebühr Tarif {plan.name} pro Benutzer und Monat",
            quantity=users,
            unit_price=plan.monthly_price_per_user,
            amount=_money(plan.monthly_price_per_user * users),
        ),
        InvoiceLine(
            description="SMS-Versand",
            quantity=sms,
            unit_price=plan.sms_price,
            amount=_money(plan.sms_price * sms),
        ),
    )
    net = sum((line.amount for line in lines), Decimal("0.00"))
    rate = Decimal("0.00") if reverse_charge else VAT_RATE
    vat = _money(net * rate)
    return InvoiceAmounts(lines=lines, net=net, vat_rate=rate, vat=vat, gross=net + vat,
                          reverse_charge=reverse_charge)


def format_eur(amount: Decimal) -> str:
    """German notation with thousands separators: Decimal('1234.5') → '1.234,50 EUR'."""
    text = f"{_money(amount):,.2f}"  # '1,234.50'
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " EUR"


# Invoice numbers: year and a per-year sequence kept gap-free by the application layer (GoBD asks for
# numbers that are unique and traceable; a gap would have to be explained to a tax auditor).
_INVOICE_NUMBER = re.compile(r"(?P<year>\d{4})-(?P<seq>\d{6})")
MAX_SEQUENCE = 999_999


def format_invoice_number(year: int, seq: int) -> str:
    """`format_invoice_number(2026, 1)` → '2026-000001'. Fixed width so the numbers also sort as text."""
    if not 2000 <= year <= 9999:
        raise ValueError(f"invoice year out of range: {year!r}")
    if not 1 <= seq <= MAX_SEQUENCE:
        raise ValueError(f"invoice sequence out of range: {seq!r}")
    return f"{year:04d}-{seq:06d}"


def parse_invoice_number(number: str) -> tuple[int, int]:
    """Inverse of `format_invoice_number`; refuses anything it would not have produced."""
    match = _INVOICE_NUMBER.fullmatch(number)
    if match is None:
        raise ValueError(f"not an invoice number: {number!r}")
    year, seq = int(match["year"]), int(match["seq"])
    format_invoice_number(year, seq)  # same range checks, e.g. sequence 000000 does not exist
    return year, seq


def billing_period(month: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of a billing month given as 'YYYY-MM' (the CLI's `--month`)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    year, mon = int(match[1]), int(match[2])
    return datetime.date(year, mon, 1), datetime.date(year, mon, calendar.monthrange(year, mon)[1])
