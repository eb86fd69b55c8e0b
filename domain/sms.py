"""SMS are billed as the provider counts them: per segment, not per message (issue 9.8).

A text that consists only of GSM 03.38 characters is sent in GSM-7: 160 septets in a single SMS, 153 per
segment once it is split (the rest carries the concatenation header); a character of the extension table
(€ [ ] { } | ^ ~ \\ and form feed) takes two septets and is never split across segments. One character
outside GSM-7 — e.g. „ “ – ’ or á — switches the whole message to UCS-2: 70 UTF-16 units in one SMS, 67 per
segment (surrogate pairs are not split). German umlauts and ß are GSM-7.

The GSM 03.38 table itself comes from the `gsm0338` codec, so it is not typed in a second time here."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7, UCS2 = "GSM-7", "UCS-2"
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (single SMS, per segment of a concatenated one)
# Typographic characters a practice name or text may contain that GSM-7 lacks, and their plain look-alikes.
_PLAIN = {"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-", "\u00a0": " ",
          "…": "...", "«": '"', "»": '"'}


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" | "UCS-2"
    characters: int
    segments: int

    def price(self, per_segment: Decimal) -> Decimal:
        return per_segment * self.segments

    def to_wire(self) -> dict[str, object]:
        return {"encoding": self.encoding, "characters": self.characters, "segments": self.segments}


def _units(char: str) -> tuple[str, int]:
    try:
        return GSM7, len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return UCS2, len(char.encode("utf-16-le")) // 2


def is_gsm7(text: str) -> bool:
    return all(_units(char)[0] == GSM7 for char in text)


def measure(text: str) -> SmsSize:
    """Encoding, length and number of billed segments of `text`."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    units = [len(c.encode("gsm03.38")) if encoding == GSM7 else len(c.encode("utf-16-le")) // 2 for c in text]
    single, per_segment = LIMITS[encoding]
    if sum(units) <= single:
        return SmsSize(encoding, len(text), 1)
    segments, used = 1, 0
    for size in units:  # a two-unit character that does not fit goes whole into the next segment
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return SmsSize(encoding, len(text), segments)


def plain(text: str) -> str:
    """`text` in GSM-7 as far as a reader would not notice: typographic quotes and dashes become plain ones,
    accents GSM-7 lacks are dropped (á → a); what has no look-alike stays (and makes the SMS UCS-2)."""
    out = []
    for char in text:
        char = _PLAIN.get(char, char)
        if not is_gsm7(char):
            stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            char = stripped if stripped and is_gsm7(stripped) else char
        out.append(char)
    return "".join(out)


def fit_one_segment(template: str, name: str, shortest: int = 12) -> str:
    """`template` with `{name}` filled in so that the SMS fits one GSM-7 segment where it can: the name is
    made plain and, if the text is still too long, shortened to no fewer than `shortest` characters (ending in
    "."). A name that cannot be shortened that far is kept whole: two segments then, but a readable name."""
    full = template.format(name=plain(name))
    short = plain(name)
    text = full
    while measure(text).segments > 1 and len(short) > shortest:
        short = short[:-1]
        text = template.format(name=short.rstrip(" .") + ".")
    return text if measure(text).segments == 1 else full
