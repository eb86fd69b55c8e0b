"""`make bench`: every benchmark prints its measurements as ratios against a floor measured in the same run."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("foundation", "calls", "web", "audit", "load")  # each module has cli(): python -m bench [NAME …]
# Not in the default list, its rows being part of foundation's table: billing (`python -m bench billing`).

if __name__ == "__main__":
    selected = sys.argv[1:] or BENCHES
    for name in selected:
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").cli()
