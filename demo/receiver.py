"""Local services of the demo: a webhook receiver on loopback for its notifications, a port check, Prefect's logging
quietened."""
from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A tiny HTTP endpoint on 127.0.0.1 for Apprise's json:// notifications, so the demo shows messages really
    delivered without sending anything off this machine."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    received.append(json.loads(body.decode("utf-8")))
                except ValueError:
                    received.append({"raw": body.decode("utf-8", "replace")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is not busy
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _quiet_prefect() -> None:
    """Prefect logs every flow and task run at INFO: the demo's progress lines are what stderr should show."""
    import prefect.main  # noqa: F401 - configures Prefect's logging (dictConfig) first, so the levels below stick

    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "httpx", "apprise"):
        logging.getLogger(name).setLevel(logging.WARNING)
