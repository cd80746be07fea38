"""Real receivers on loopback: an SMTP server (aiosmtpd) that Apprise reaches with mailto://, and an HTTP server
that Apprise reaches with json:// and, for WeCom group robots, with wecombot:// (the plugin's fixed endpoint
https://qyapi.weixin.qq.com/... pointed at loopback: its payload is Apprise's own). Channels are set through casework
under a test key."""
from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from apprise.plugins.wecombot import NotifyWeComBot
from cryptography.fernet import Fernet
from sqlalchemy import delete

from casework.deliveries import Desk, set_channel
from models.channels_store import Channel
from models.store import Notification
from tests.conftest import T0


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
        self.failing: set[str] = set()  # paths (prefixes) answered 500 whatever `status` says
        self.posts: list[dict] = []  # {"path", "json", "status"}
        self.on_request = None  # called in the server thread before answering
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if receiver.on_request:
                    receiver.on_request(self.path, payload)
                status = 500 if any(self.path.startswith(p) for p in receiver.failing) else receiver.status
                receiver.posts.append({"path": self.path.split("?")[0].rstrip("/"), "json": payload, "status": status,
                                       "query": self.path.partition("?")[2], "at": time.monotonic()})
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


@pytest.fixture(autouse=True)
def channel_key(monkeypatch):
    """A fresh channel key for every test (never the developer's var/channel.key)."""
    monkeypatch.setenv("LOSTCONTACT_CHANNEL_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("LOSTCONTACT_BASE_URL", "http://127.0.0.1:8000")


@pytest.fixture
def wecom(hook, monkeypatch):
    """WeCom group robots answered by the loopback receiver (path /wecom/send, the key in the query)."""
    monkeypatch.setattr(NotifyWeComBot, "notify_url", f"http://127.0.0.1:{hook.port}/wecom/send?key={{key}}")
    return hook


def set_urls(store, person_id: str, *urls: str) -> None:
    """The person's own channels become exactly these."""
    with store.writing() as s:
        s.execute(delete(Channel).where(Channel.person_id == person_id))
        s.commit()
    for url in urls:
        set_channel(store, actor_id=None, now=T0, person_id=person_id, url=url)


def set_group(store, org_id: str, *urls: str) -> None:
    for url in urls:
        set_channel(store, actor_id=None, now=T0, org_id=org_id, url=url, label="工作群")


def desk(store) -> Desk:
    return Desk(store)


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
