"""The legal texts (legal/*.md): versioned Markdown in the repository, filled with the operator's details from the
settings and rendered to HTML with markdown-it-py.

Each file starts with a front matter block (`title`, `version`). The version is what a practice accepts
(registration, or later at login when a new version appears); changing a text means raising its version."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from infrastructure.settings import Settings

LEGAL_DIR = Path(__file__).resolve().parents[1] / "legal"
# URL slug → file name; the order is the order of the links on every page.
DOCUMENTS = {"nutzungsbedingungen": "nutzungsbedingungen.md", "datenschutz": "datenschutz.md",
             "avv": "avv.md", "impressum": "impressum.md"}
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!])")


@dataclass(frozen=True)
class LegalSource:
    name: str
    title: str
    version: str
    body: str  # Markdown with {{placeholders}}


@dataclass(frozen=True)
class LegalDocument:
    name: str
    title: str
    version: str
    markdown: str
    html: str  # the body only, without a page around it


@functools.cache
def source(name: str) -> LegalSource:
    text = (LEGAL_DIR / DOCUMENTS[name]).read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ValueError(f"legal/{DOCUMENTS[name]}: front matter with title and version missing")
    meta = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    meta = {key.strip(): value.strip().strip('"') for key, value in meta.items()}
    return LegalSource(name, meta["title"], meta["version"], text[match.end():])


def current_versions() -> dict[str, str]:
    return {name: source(name).version for name in DOCUMENTS}


def _escape(value: str) -> str:
    """Operator values are text, never Markdown: a `*` in a company name stays a `*`."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def subprocessor_table(settings: Settings) -> str:
    rows = ["| Unterauftragsverarbeiter | Leistung | Ort der Verarbeitung |", "|---|---|---|"]
    rows += [f"| {_escape(name)} | {_escape(purpose)} | {_escape(place)} |"
             for name, purpose, place in settings.subprocessors]
    return "\n".join(rows)


def placeholders(settings: Settings, version: str) -> dict[str, str]:
    address = [_escape(line) for line in settings.seller_address]
    return {
        "version": version,
        "betreiber_name": _escape(settings.operator_name),
        "betreiber_anschrift_zeile": ", ".join(address),
        "betreiber_anschrift_block": "  \n".join(address),  # hard line breaks
        "betreiber_email": _escape(settings.operator_email),
        "vertretung": _escape(settings.operator_representative),
        "register": _escape(settings.operator_register),
        "ust_id": _escape(settings.seller_vat_id),
        "glaeubiger_id": _escape(settings.creditor_id),
        "datenschutz_kontakt": _escape(settings.dpo_contact),
        "prenotification_tage": str(settings.prenotification_days),
        "unterauftragsverarbeiter": subprocessor_table(settings),
    }


_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def document(name: str, settings: Settings) -> LegalDocument:
    """Raises KeyError for an unknown document."""
    src = source(name)
    values = placeholders(settings, src.version)
    markdown = _PLACEHOLDER.sub(lambda m: values[m.group(1)], src.body)
    return LegalDocument(name, src.title, src.version, markdown, _RENDERER.render(markdown))


def page(doc: LegalDocument, settings: Settings) -> str:
    """A complete HTML page: no script, no inline style (the app's CSP: style-src 'self'), links to the others."""
    nav = " · ".join(f'<a href="/rechtliches/{name}">{html.escape(source(name).title)}</a>' for name in DOCUMENTS)
    return (
        '<!doctype html>\n<html lang="de"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)} – Sprechzimmer</title></head>\n"
        f"<body><header><nav aria-label=\"Rechtliches\">{nav}</nav></header>\n"
        f'<main>\n{doc.html}</main>\n<footer><p>Fassung {html.escape(doc.version)} · '
        f'<a href="/api/v1/legal/{doc.name}">maschinenlesbar (JSON)</a> · '
        f"{html.escape(settings.operator_name)}</p></footer></body></html>\n"
    )
