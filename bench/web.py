"""Bundle sizes of the browser app (web/dist, built by `make web`): what each entry point makes the browser
download before it is interactive, raw and gzip -9, against a floor measured in the same run — the gzip size
of libsodium's sumo module alone, the one part no page that does cryptography can leave out. The patient
page (/join) has a goal of ≤ 250 KB gzip before the call starts (issue 12)."""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
LIBSODIUM = ROOT / "web" / "node_modules" / "libsodium-sumo" / "dist" / "modules-sumo-esm" / "libsodium-sumo.mjs"
ENTRIES = {"practice app (/)": "index.html", "patient page (/join)": "join/index.html"}
PATIENT_GOAL = 250 * 1024


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def _static_imports(path: Path, seen: set[Path]) -> None:
    """The entry's chunk and the chunks it imports statically (what loads before the page is interactive)."""
    if path in seen or not path.is_file():
        return
    seen.add(path)
    if path.suffix == ".js":
        for name in re.findall(r'(?:^|[;}\s])import\s*(?:[^"\'()]*?from\s*)?["\']\./([^"\']+)["\']',
                               path.read_text(errors="replace")):
            _static_imports(path.parent / name, seen)


def entry_files(html: Path) -> set[Path]:
    files: set[Path] = {html}
    for ref in re.findall(r'(?:src|href)="/(assets/[^"]+)"', html.read_text()):
        _static_imports(DIST / ref, files)
    return files


def cli() -> None:
    subprocess.run(["make", "--no-print-directory", "-s", "-C", str(ROOT), "web"], check=True,
                   stdout=subprocess.DEVNULL)
    floor = _gzip_size(LIBSODIUM.read_bytes()) if LIBSODIUM.is_file() else None
    if floor:
        print(f"floor: libsodium sumo module alone {floor / 1024:.0f} KB gzip")
    for label, name in ENTRIES.items():
        files = entry_files(DIST / name)
        raw = sum(p.stat().st_size for p in files)
        packed = sum(_gzip_size(p.read_bytes()) for p in files)
        ratio = f", {packed / floor:.2f}× floor" if floor else ""
        goal = f", goal ≤ {PATIENT_GOAL // 1024} KB: {'met' if packed <= PATIENT_GOAL else 'MISSED'}" \
            if name.startswith("join") else ""
        print(f"{label}: {len(files)} files, {raw / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzip{ratio}{goal}")
    for worker in sorted((DIST / "assets").glob("*.worker-*.js")):
        packed = _gzip_size(worker.read_bytes())
        ratio = f", {packed / floor:.2f}× floor" if floor else ""
        print(f"worker {worker.name.split('-')[0]} (loaded on first key derivation): "
              f"{worker.stat().st_size / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzip{ratio}")
