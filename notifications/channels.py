"""Where a message goes and the one function that sends it: Apprise, outside any store transaction.

A person's channels are Apprise URLs, one per line in `Person.notify_urls` (blank lines and lines starting with
`#` are ignored). The forms we document and test (tests/notifications/test_channels.py) — checked against the
installed Apprise 1.13 plugins:

  WeCom group bot 企业微信群机器人    wecombot://{key}
                                     (or the webhook as given: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key})
  WeCom application message 企业微信应用消息
                                     wechat://{corpid}:{corpsecret}@{agentid}/@{userid}      (one user)
                                     wechat://{corpid}:{corpsecret}@{agentid}/%23{department} (a department, # encoded)
  DingTalk group bot 钉钉群机器人      dingtalk://{access_token}/
                                     dingtalk://{secret}@{access_token}/                     (signed bot, 加签)
                                     dingtalk://{secret}@{access_token}/{mobile}/            (@ a member by phone)
  Feishu group bot 飞书群机器人         feishu://{token}     (token = the last segment of .../open-apis/bot/v2/hook/{token})
  Lark group bot                     lark://{token}
  E-mail                             mailtos://{user}:{password}@{smtp host}:465/{to address}?mode=ssl
                                     mailtos://{user}:{password}@{smtp host}:587/{to address}      (STARTTLS)
                                     mailto://{smtp host}:{port}/?from={from address}&to={to address}
                                                                       (plain SMTP, no TLS: an internal relay)
  JSON webhook                       json://{host}:{port}/{path}   /   jsons://{host}/{path}  (HTTPS)
                                     Apprise POSTs {"version", "title", "message", "type", "attachments"}.

Apprise has no plugin for domestic SMS gateways (DOMAIN §9); a gateway with an HTTP API can be reached with json://.
The store only ever records the URL schemes (`channel_of`), never a URL: URLs carry tokens and passwords."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import apprise

from models.store import Person

log = logging.getLogger("lostcontact.notifications")

UrlSource = Callable[[Person], list[str]]


def person_urls(person: Person) -> list[str]:
    """The default URL source: the person's own Apprise URLs (none when the person is inactive)."""
    if not person.active or not person.notify_urls:
        return []
    return [line.strip() for line in person.notify_urls.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].strip().lower() if "://" in url else "?"


def channel_of(urls: Iterable[str]) -> str | None:
    """What the store may keep about a person's channels: the schemes, sorted, comma-separated."""
    schemes = sorted({scheme_of(u) for u in urls})
    return ",".join(schemes)[:200] if schemes else None


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None


class _ThreadCapture(logging.Handler):
    """Collects Apprise's warnings for the current thread only, so an error can be recorded per message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            try:
                lines.append(record.getMessage())
            except Exception:  # a malformed log call must not break a send
                lines.append(str(record.msg))


_capture = _ThreadCapture()
logging.getLogger(apprise.LOGGER_NAME).addHandler(_capture)


def deliver(urls: list[str], title: str, body: str) -> Delivery:
    """Send one message to every URL of one person with Apprise. Never raises; never called inside a store
    transaction (the caller has committed its claim and closed its session). Apprise runs the URLs in this thread,
    one after the other, so its warnings can be captured as this message's error."""
    asset = apprise.AppriseAsset(async_mode=False)
    ap = apprise.Apprise(asset=asset)
    rejected = [scheme_of(u) for u in urls if not ap.add(u)]
    if len(ap) == 0:
        return Delivery(False, f"no valid Apprise URL (rejected schemes: {', '.join(rejected) or 'none given'})")
    _capture.local.lines = []
    try:
        ok = bool(ap.notify(title=title, body=body))
    except Exception as exc:  # Apprise plugins should not raise, but a send must never crash the sweep
        ok = False
        _capture.local.lines.append(f"{type(exc).__name__}: {exc}")
    finally:
        lines, _capture.local.lines = _capture.local.lines, None
    problems = []
    if rejected:
        problems.append(f"rejected URL schemes: {', '.join(rejected)}")
    if not ok:
        problems.append("; ".join(lines[-5:]) or "Apprise notify() returned False")
    return Delivery(ok, _redact(" | ".join(problems), urls)[:2000] if problems else None)


def _redact(text: str, urls: list[str]) -> str:
    """Apprise logs hosts and sometimes paths; make sure no URL or its secret part reaches the store."""
    for url in urls:
        rest = url.split("://", 1)[-1]
        for secret in {url, rest, rest.split("/", 1)[0], rest.split("?", 1)[0]}:
            if len(secret) >= 6:
                text = text.replace(secret, f"{scheme_of(url)}://***")
    return text
