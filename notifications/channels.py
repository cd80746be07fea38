"""Where a message goes and the one function that sends it: Apprise, outside any store transaction.

A channel is an Apprise URL. The forms we document and test (tests/notifications/test_channels.py) — checked against the
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
Organisations own group robots (wecombot, dingtalk, feishu, lark): one message per event to the group. People own
e-mail, WeCom application and webhook channels. Channels are set with `lostcontact channels set`, kept encrypted
(casework/deliveries.py); the `notifications` rows keep schemes only, never a URL.

Limits per channel (`PROFILES`): a WeCom group bot takes 20 messages a minute and a text of at most 2,048 bytes
(UTF-8), a markdown message of at most 4,096 (we send markdown to WeCom and DingTalk robots: robots.py); DingTalk and
Feishu robots 20 and 100 a minute. The sender queues what exceeds the rate and the composer
shortens what exceeds the size (with the link to the full list)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import apprise

from . import robots  # noqa: F401  (markdown for WeCom and DingTalk robots, registered with Apprise)

log = logging.getLogger("lostcontact.notifications")


@dataclass(frozen=True)
class Profile:
    """What a channel takes: the body's size in UTF-8 bytes (None: no practical limit), messages a minute, and whether
    its title is shown (robots show only a body: the title becomes the body's first line)."""

    max_bytes: int | None = None
    per_minute: int | None = None
    title_shown: bool = True
    markdown: bool = False  # sent as a markdown message (robots.py): bold title, links clickable
    hard_breaks: bool = False  # its markdown needs two spaces before a line break (DingTalk)


PROFILES = {
    # WeCom group robot: 20 a minute; text at most 2,048 bytes, markdown (what we send) at most 4,096
    "wecombot": Profile(4096, 20, False, markdown=True),
    "wechat": Profile(2048, None, False),   # WeCom application message: text at most 2,048 bytes
    "dingtalk": Profile(20000, 20, False, markdown=True, hard_breaks=True),  # DingTalk group robot: 20 a minute
    "feishu": Profile(20000, 100, False),   # Feishu/Lark group robot: 100 a minute, request body at most 20 KB
    "lark": Profile(20000, 100, False),
    "mailto": Profile(32000, None, True),   # e-mail: no hard limit; a digest stays readable and links the rest
    "mailtos": Profile(32000, None, True),
    "json": Profile(32000, None, True),
    "jsons": Profile(32000, None, True),
}
DEFAULT_PROFILE = Profile(None, None, True)


def profile_of(scheme: str | None) -> Profile:
    return PROFILES.get((scheme or "").lower(), DEFAULT_PROFILE)


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].strip().lower() if "://" in url else "?"


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


def deliver(url: str, title: str, body: str, *, markdown: bool = False) -> Delivery:
    """Send one message through one channel with Apprise. Never raises; never called inside a store transaction (the
    caller has committed its claim). The body is plain text with line breaks: Apprise turns it into the HTML part of
    an e-mail with the breaks kept. Apprise runs in this thread, so its warnings are this message's error."""
    asset = apprise.AppriseAsset(async_mode=False)
    ap = apprise.Apprise(asset=asset)
    if markdown and "format=" not in url:
        url += ("&" if "?" in url else "?") + "format=markdown"
    if not ap.add(url):
        return Delivery(False, f"no valid Apprise URL (scheme {scheme_of(url)})")
    _capture.local.lines = []
    try:
        ok = bool(ap.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN if markdown
                            else apprise.NotifyFormat.TEXT))
    except Exception as exc:  # Apprise plugins should not raise, but a send must never crash the sweep
        ok = False
        _capture.local.lines.append(f"{type(exc).__name__}: {exc}")
    finally:
        lines, _capture.local.lines = _capture.local.lines, None
    if ok:
        return Delivery(True)
    return Delivery(False, _redact("; ".join(lines[-5:]) or "Apprise notify() returned False", [url])[:2000])


def check_url(url: str) -> bool:
    return bool(apprise.Apprise().add(url))


def _redact(text: str, urls: list[str]) -> str:
    """Apprise logs hosts and sometimes paths; make sure no URL or its secret part reaches the store."""
    for url in urls:
        rest = url.split("://", 1)[-1]
        for secret in {url, rest, rest.split("/", 1)[0], rest.split("?", 1)[0]}:
            if len(secret) >= 6:
                text = text.replace(secret, f"{scheme_of(url)}://***")
    return text
