"""Markdown messages for WeCom and DingTalk group robots. Apprise 1.13's WeCom robot sends only `msgtype: text`, and
its DingTalk robot, asked for markdown, still sends `msgtype: text` with a `markdown` part the robot rejects. These
subclasses of the stock plugins send `msgtype: markdown` when the URL asks for `format=markdown` (channels.py does for
these two schemes) and behave as the stock plugins otherwise; they are registered over the stock schemes with
Apprise's own plugin manager. A robot answers HTTP 200 with a non-zero `errcode` when it refuses a message: that is
a failure here (the stock plugins count it as sent)."""
from __future__ import annotations

import json

import requests
from apprise import NotifyFormat, NotifyType
from apprise.manager_plugins import NotificationManager
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.wecombot import NotifyWeComBot


def _post(plugin, url: str, payload: dict, params: dict | None = None) -> bool:
    plugin.throttle()
    try:
        r = requests.post(url, data=json.dumps(payload).encode("utf-8"), params=params,
                          headers={"User-Agent": plugin.app_id, "Content-Type": "application/json; charset=utf-8"},
                          verify=plugin.verify_certificate, timeout=plugin.request_timeout,
                          allow_redirects=plugin.redirects)
    except requests.RequestException as exc:
        plugin.logger.warning("A connection error occurred sending a %s markdown message: %s",
                              plugin.service_name, type(exc).__name__)
        return False
    if r.status_code != requests.codes.ok:
        plugin.logger.warning("Failed to send a %s markdown message: error=%s.", plugin.service_name, r.status_code)
        return False
    try:
        answer = r.json() if r.content else {}
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        plugin.logger.warning("%s refused a markdown message: errcode=%s.", plugin.service_name, answer.get("errcode"))
        return False
    return True


class WeComBotMarkdown(NotifyWeComBot):
    def send(self, body, title="", notify_type=NotifyType.INFO, **kwargs):
        if self.notify_format != NotifyFormat.MARKDOWN:
            return super().send(body, title=title, notify_type=notify_type, **kwargs)
        return _post(self, self.api_url, {"msgtype": "markdown", "markdown": {"content": body}})


class DingTalkMarkdown(NotifyDingTalk):
    def send(self, body, title="", notify_type=NotifyType.INFO, **kwargs):
        if self.notify_format != NotifyFormat.MARKDOWN:
            return super().send(body, title=title, notify_type=notify_type, **kwargs)
        params = None
        if self.secret:
            timestamp, signature = self.get_signature()
            params = {"timestamp": timestamp, "sign": signature}
        payload = {"msgtype": "markdown", "markdown": {"title": title or body.split("\n", 1)[0][:50], "text": body},
                   "at": {"atMobiles": self.targets, "isAtAll": False}}
        return _post(self, self.notify_url.format(token=self.token), payload, params)


# The manager is a singleton shared by every Apprise object of the process.
NotificationManager().add(WeComBotMarkdown, force=True)
NotificationManager().add(DingTalkMarkdown, force=True)
