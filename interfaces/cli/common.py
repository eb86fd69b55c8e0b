"""What the client-side commands share: the server address and secret prompts."""

from __future__ import annotations

import getpass
import os

from interfaces.client.sdk import Client

DEFAULT_URL = "http://127.0.0.1:8000"


def client() -> Client:
    return Client(os.environ.get("SPRECHZIMMER_URL", DEFAULT_URL))


def secret(prompt: str, env: str = "SPRECHZIMMER_PASSWORD") -> str:
    """From the environment (scripts) or a prompt that does not echo; never from the command line."""
    return os.environ.get(env) or getpass.getpass(prompt)
