"""The `sprechzimmer` command. Each context module offers add_commands(subparsers)."""

from __future__ import annotations

import argparse
import importlib
import sys

import httpx

from interfaces.cli.common import CliError, server_url
from interfaces.client.keystore import DeviceLocked
from interfaces.client.sdk import ApiError, TamperingDetected

COMMAND_MODULES = ("operations", "accounts", "devices", "users", "stammdaten", "appointments", "calls", "contracts",
                   "audit")


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
    except (ApiError, CliError, DeviceLocked) as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 1
    except httpx.TimeoutException:
        print(f"Fehler: Der Server {server_url()} antwortet nicht (Zeitüberschreitung). Bitte später erneut "
              "versuchen.", file=sys.stderr)
        return 1
    except httpx.TransportError:  # connection refused, unknown host, connection lost
        print(f"Fehler: Der Server {server_url()} ist nicht erreichbar. Bitte die Adresse (SPRECHZIMMER_URL) "
              "und die Netzwerkverbindung prüfen.", file=sys.stderr)
        return 1
    except TamperingDetected as error:
        print(f"Sicherheitswarnung: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):  # Ctrl+C, or Ctrl+D at a prompt
        print("\nAbgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
