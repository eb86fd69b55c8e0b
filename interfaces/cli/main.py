"""The `sprechzimmer` command. Each context module offers add_commands(subparsers)."""

from __future__ import annotations

import argparse
import importlib
import sys

from interfaces.client.sdk import ApiError, TamperingDetected

COMMAND_MODULES = ("operations", "accounts", "devices", "users", "appointments", "calls", "contracts", "audit")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sprechzimmer", description="Sprechzimmer – Videosprechstunde")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"interfaces.cli.{name}").add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ApiError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 1
    except TamperingDetected as error:
        print(f"Sicherheitswarnung: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
