"""What the client-side commands share: the server address, secret prompts, the --org/--user options that
default to the last login, and a logged-in client that reuses the session of that login."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from typing import Any

import httpx

from interfaces.client.sdk import Client, LoggedIn

DEFAULT_URL = "http://127.0.0.1:8000"
ORG_HELP = "Kurzname der Organisation (Standard: aus der letzten Anmeldung)"
USER_HELP = "Kurzname des Benutzers (Standard: aus der letzten Anmeldung)"
MSG_WHO = ("Bitte Kurzname der Organisation (--org) und Kurzname des Benutzers (--user) angeben oder vorher "
           "`sprechzimmer login` ausführen.")
MSG_NO_TERMINAL = "{what} fehlt: bitte {env} setzen oder den Befehl in einem Terminal ausführen."


class CliError(Exception):
    """A refusal on this machine with a German message; main() prints it without a traceback."""


def server_url() -> str:
    return os.environ.get("SPRECHZIMMER_URL", DEFAULT_URL)


def client() -> Client:
    return Client(server_url())


def secret(prompt: str, env: str = "SPRECHZIMMER_PASSWORD") -> str:
    """From the environment (scripts) or a prompt that does not echo; never from the command line."""
    return ask(prompt, env, hidden=True)


def ask(prompt: str, env: str, hidden: bool = False) -> str:
    """Without a terminal a prompt would read the script's stdin (or fail at its end): refuse instead."""
    if value := os.environ.get(env):
        return value
    if not sys.stdin.isatty():
        raise CliError(MSG_NO_TERMINAL.format(what=prompt.strip().rstrip(":"), env=env))
    return getpass.getpass(prompt) if hidden else input(prompt)


def login_options(parser: argparse.ArgumentParser | Any, user_help: str = USER_HELP) -> None:
    parser.add_argument("--org", help=ORG_HELP)
    parser.add_argument("--user", help=user_help)


def last_login() -> dict[str, Any]:
    sdk = client()
    try:
        return sdk.store.last_login(sdk.origin)
    finally:
        sdk.close()


def org_of(args: argparse.Namespace) -> str:
    org = args.org or last_login().get("org_short")
    if not org:
        raise CliError(MSG_WHO)
    return str(org)


def who(args: argparse.Namespace) -> tuple[str, str]:
    """--org and --user, each defaulting to the last login at this server."""
    last = last_login()
    org, user = args.org or last.get("org_short"), args.user or last.get("user_short")
    if not org or not user:
        raise CliError(MSG_WHO)
    return str(org), str(user)


def login(sdk: Client, org: str, user: str, password: str, accept_legal: bool = False) -> LoggedIn:
    """A new login replaces the saved session; the replaced one is ended on the server rather than left to
    expire (best effort: it may already be gone)."""
    saved = sdk.store.session() or {}
    replaced = saved.get("token") if saved.get("origin") == sdk.origin else None
    session = sdk.login(org, user, password, accept_legal=accept_legal)
    if replaced and replaced != session.token:
        with contextlib.suppress(httpx.HTTPError):
            sdk.http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {replaced}"})
    return session


def logged_in(args: argparse.Namespace, password: str | None = None) -> Client:
    """Reuses the session of the last login while it lives; logs in with the password only when it has
    expired or belongs to another organisation or user (each login leaves a session on the server)."""
    org, user = who(args)
    sdk = client()
    if sdk.resume(org, user) is None:
        login(sdk, org, user, password or secret("Passwort: "))
    return sdk
