"""`sprechzimmer serve`: gunicorn with uvicorn workers. The application is constructed in each worker after
the fork (lifespan startup), never in the master."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from infrastructure.settings import parse_trusted_proxies


class Worker(UvicornWorker):
    """uvicorn's worker with WebSocket compression (permessage-deflate) turned off. Signalling messages are a
    few kilobytes on a local or broadband link; deflating and inflating each one was a tenth of the relay's
    CPU time. A compressed message that mixes text an attacker chooses with a secret (a MAC, a token) is also
    what compression side channels (CRIME, BREACH) need."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**UvicornWorker.CONFIG_KWARGS, "ws_per_message_deflate": False}


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from infrastructure.log_files import DailyAccessLog, log_dir
        from infrastructure.settings import load_settings
        from interfaces.bootstrap import build
        from interfaces.http.app import create_app

        for name in ("uvicorn.access", "uvicorn.error"):  # in the worker, where uvicorn writes its request lines
            logging.getLogger(name).addFilter(WITHOUT_QUERY)
        # Request lines go to one file per day, which the retention job deletes after three months (KBV).
        logging.getLogger("uvicorn.access").handlers = [DailyAccessLog(log_dir(load_settings().data_dir))]

        return create_app(lambda: build(web_worker=True))


class WithoutQuery(logging.Filter):
    """uvicorn writes each request line with its query string (the access log; WebSocket lines go to the error
    log), and gunicorn's access_log_format does not apply to its workers. A query string can carry a token or
    a code, so it is cut off every path before any handler formats the record. The client's address loses its
    host part too (IPv4: the last octet, IPv6: all but the /48): a log kept for operations is then no record
    of who called when (KBV: metadata at most three months, and the log need not identify anyone)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_truncated_address(_without_query(arg)) for arg in record.args)
        return True


_IPV4_WITH_PORT = re.compile(r"(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}(:\d+)?")


def _truncated_address(value: object) -> object:
    """uvicorn's client is "a.b.c.d:port" (or "[v6]:port" / "v6:port"): the port and the host part go."""
    if not isinstance(value, str):
        return value
    if match := _IPV4_WITH_PORT.fullmatch(value):
        return match[1] + ".0"
    host = value[1:].partition("]")[0] if value.startswith("[") else value.rpartition(":")[0]
    if ":" in host:
        try:
            return str(ipaddress.ip_network(host + "/48", strict=False).network_address) + "/48"
        except ValueError:
            return value
    return value


def _without_query(value: object) -> object:
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.partition("?")[0]
    return value


WITHOUT_QUERY = WithoutQuery()


def serve(host: str, port: int, workers: int | None = None) -> None:
    # Signed transcripts name the web origin; by default it is the address this server is bound to.
    os.environ.setdefault("SPRECHZIMMER_ORIGINS", f"http://{host}:{port},http://localhost:{port}")
    from infrastructure.settings import check_deployment, load_settings

    check_deployment(load_settings())  # refuse in the master, before any worker is forked
    if not os.environ.get("DATABASE_URL"):
        workers = 1  # the embedded SQLite store is kept by a single process
    # Each worker builds its container (and, if it is the first, the schema under a lock) after the fork.
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers or 2,
        "worker_class": "interfaces.server.Worker",
        "preload_app": False,
        "graceful_timeout": 10,
        "control_socket_disable": True,  # one shared path per user would collide between servers
        "timeout": 60,
        "accesslog": "-",
        # X-Forwarded-For only from the proxies named in SPRECHZIMMER_TRUSTED_PROXIES (default: nobody, where
        # gunicorn and uvicorn would believe 127.0.0.1): the resulting address is what every throttle counts.
        "forwarded_allow_ips": ",".join(parse_trusted_proxies(os.environ.get("SPRECHZIMMER_TRUSTED_PROXIES", ""))),
        # Never log query strings or headers: tokens and join tokens must not reach a log file.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
    }).run()


def work() -> None:
    """PostgreSQL mode: read models and scheduled jobs run here, apart from the web workers."""
    import logging
    import signal
    import threading

    from interfaces.bootstrap import build

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    container = build()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    container.projections.start_thread()
    container.scheduler.start()
    try:
        stop.wait()
    finally:
        container.close()
