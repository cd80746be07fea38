"""Real receivers on loopback: an SMTP server (aiosmtpd) that Apprise reaches with mailto://, and an HTTP server
that Apprise reaches with json://. Nothing of Apprise is mocked."""
from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from models.store import Notification, Person


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list = []  # email.message.EmailMessage, decoded with the default policy
        self.envelopes: list = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def url(self, to: str) -> str:
        # Plain SMTP on a custom port, no TLS: mailto:// (not mailtos://) defaults to mode=insecure.
        return f"mailto://127.0.0.1:{self.port}/?from=notify@lostcontact.test&to={to}"

    def to(self, address: str) -> list:
        return [m for m, e in zip(self.messages, self.envelopes) if address in e.rcpt_tos]

    @staticmethod
    def text(message) -> str:
        return message.get_body(("plain",)).get_content()


class HookReceiver:
    """Answers every POST with `status` (changeable while running) and records what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.posts: list[dict] = []  # {"path", "json", "status"}
        self.on_request = None  # called in the server thread before answering
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if receiver.on_request:
                    receiver.on_request(self.path, payload)
                status = receiver.status
                receiver.posts.append({"path": self.path.rstrip("/"), "json": payload, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def delivered(self, path: str | None = None) -> list[dict]:
        """Posts answered 200, to one path or all."""
        return [p for p in self.posts if p["status"] == 200 and (path is None or p["path"] == f"/{path}")]


@pytest.fixture
def smtp():
    receiver = SmtpReceiver()
    receiver.controller.start()
    yield receiver
    receiver.controller.stop()


@pytest.fixture
def hook():
    receiver = HookReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def set_urls(store, person_id: str, *urls: str) -> None:
    with store.writing() as s:
        s.get(Person, person_id).notify_urls = "\n".join(urls) if urls else None
        s.commit()


def rows(store, **where) -> list[Notification]:
    with store.reading() as s:
        q = s.query(Notification)
        for k, v in where.items():
            q = q.filter(getattr(Notification, k) == v)
        return q.order_by(Notification.id).all()


def wait_for(predicate, timeout: float = 5.0) -> None:
    """SMTP delivery is acknowledged before the handler's list is read in another thread; give it a moment."""
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)
