"""SMS segments as providers count them (issue 9.8): GSM-7 160/153 with the extension table counting double,
UCS-2 70/67 as soon as one character is outside GSM-7; and the default texts fit one segment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.appointments import INVITATION_TEXT, REMINDER_TEXT
from domain.sms import GSM7, UCS2, fit_one_segment, measure, plain

URL = "https://sprechzimmer.example.de/join"


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("a" * 160, GSM7, 1),
    ("a" * 161, GSM7, 2),  # split: 153 per segment
    ("a" * 306, GSM7, 2),
    ("a" * 307, GSM7, 3),
    ("ä" * 160, GSM7, 1),  # German umlauts and ß are GSM-7
    ("ÄÖÜäöüß" * 22 + "ab", GSM7, 1),
    ("€" * 80, GSM7, 1),  # the extension table counts double: 160 septets
    ("€" * 81, GSM7, 2),
    ("a" * 159 + "[", GSM7, 2),
    ("a" * 152 + "€" + "a" * 152, GSM7, 3),  # 306 septets, but the € is not split across segments
    ("„" + "a" * 69, UCS2, 1),  # one character outside GSM-7 makes the whole SMS UCS-2
    ("„" + "a" * 70, UCS2, 2),
    ("á" * 134, UCS2, 2),  # 67 per segment
    ("á" * 135, UCS2, 3),
    ("😀" * 35, UCS2, 1),  # two UTF-16 units each
    ("😀" * 36, UCS2, 2),
])
def test_segments(text: str, encoding: str, segments: int) -> None:
    size = measure(text)
    assert (size.encoding, size.segments) == (encoding, segments)
    assert size.price(Decimal("0.10")) == Decimal("0.10") * segments


def test_plain_keeps_umlauts_and_replaces_typographic_characters() -> None:
    assert plain("Praxis „Am Markt“ – Dr. Sánchez, Müller & Söhne") == 'Praxis "Am Markt" - Dr. Sanchez, Müller & Söhne'
    assert measure(plain("Praxis „Am Markt“ – Dr. Sánchez")).encoding == GSM7


@pytest.mark.parametrize("name", ["Praxis Winkler", "Gemeinschaftspraxis Dr. Jäger & Kollegen",
                                  "Praxis „Am Marktplatz“ – Dr. Sánchez", "Ärztehaus Süd MVZ Weißensee"])
def test_default_texts_fit_one_segment(name: str) -> None:
    parts = {"when": "01.12.2026 um 10:00 Uhr", "url": URL}
    invitation = fit_one_segment(INVITATION_TEXT.replace("{name}", "{{name}}").format(code="ABCD-EFGH-JKMN", **parts),
                                 name)
    reminder = fit_one_segment(REMINDER_TEXT.replace("{name}", "{{name}}").format(**parts), name)
    for text in (invitation, reminder):
        assert measure(text).segments == 1 and measure(text).encoding == GSM7, text
        assert "01.12.2026 um 10:00 Uhr" in text and URL in text
    assert "ABCD-EFGH-JKMN" in invitation


def test_a_very_long_name_is_shortened_and_a_name_without_look_alikes_stays_whole() -> None:
    template = "{name}: Videosprechstunde am 01.12.2026 um 10:00 Uhr. Zugangscode: ABCD-EFGH-JKMN. Teilnehmen: " + URL
    long_name = "Medizinisches Versorgungszentrum am Universitätsklinikum Nord GmbH"
    text = fit_one_segment(template, long_name)
    assert measure(text).segments == 1 and text.startswith("Medizinisches Versorgungs")
    greek = fit_one_segment(template, "Praxis αβγ")  # no GSM-7 look-alike: UCS-2, honestly counted
    assert greek.startswith("Praxis αβγ:")
    assert measure(greek).encoding == UCS2 and measure(greek).segments == 3  # 135 characters > 2 × 67
