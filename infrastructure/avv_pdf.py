"""The written confirmation of the Auftragsverarbeitungsvertrag (plus): who agreed to which version, when, and
with whom — a PDF the practice files with its records of processing (Art. 28 (9), Art. 30 DSGVO)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from infrastructure.invoice_pdf import _de_date, _InvoicePDF, _pdf_text


@dataclass(frozen=True)
class AvvConfirmation:
    operator_name: str
    operator_address: tuple[str, ...]
    practice_name: str
    practice_address: tuple[str, ...]
    version: str
    accepted_on: datetime.date
    issued_on: datetime.date
    subprocessors: tuple[tuple[str, str, str], ...]


def render_avv_confirmation(doc: AvvConfirmation) -> bytes:
    pdf = _InvoicePDF(footer_text=_pdf_text(" · ".join((doc.operator_name, *doc.operator_address))))
    # Reproducible: the same confirmation on the same day is the same file.
    pdf.set_creation_date(datetime.datetime.combine(doc.issued_on, datetime.time(), tzinfo=datetime.UTC))
    pdf.set_title("Bestätigung des Auftragsverarbeitungsvertrags")
    pdf.set_author(_pdf_text(doc.operator_name))
    pdf.set_lang("de-DE")
    pdf.set_auto_page_break(auto=True, margin=25)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("helvetica", size=11)
    for line in (doc.practice_name, *doc.practice_address):
        pdf.cell(width, 5, _pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    pdf.set_font("helvetica", style="B", size=15)
    pdf.multi_cell(width, 8, "Schriftliche Bestätigung des Auftragsverarbeitungsvertrags (Art. 28 DSGVO)",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=10)
    text = (
        f"Hiermit bestätigt {doc.operator_name} als Auftragsverarbeiter, dass zwischen ihr und "
        f"{doc.practice_name} als Verantwortlichem der Vertrag über die Verarbeitung personenbezogener Daten "
        f"im Auftrag in der Fassung vom {doc.version} besteht. Die Praxis hat ihm am {_de_date(doc.accepted_on)} "
        "elektronisch zugestimmt. Der vollständige Vertragstext mit den technischen und organisatorischen "
        "Maßnahmen ist jederzeit ohne Anmeldung unter /rechtliches/avv abrufbar."
    )
    pdf.multi_cell(width, 5, _pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", style="B", size=10)
    pdf.cell(width, 6, "Genehmigte Unterauftragsverarbeiter", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    for name, service, place in doc.subprocessors:
        pdf.multi_cell(width, 5, _pdf_text(f"- {name}: {service} ({place})"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(width, 5, _pdf_text(f"Ausgestellt am {_de_date(doc.issued_on)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 5, _pdf_text(doc.operator_name), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
