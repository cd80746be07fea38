"""The Apprise URL forms documented in notifications/channels.py are accepted by the installed Apprise (no network
to the services); the store never keeps a URL."""
from __future__ import annotations

import apprise
import pytest

from notifications.channels import channel_of, deliver, person_urls
from models.store import Person

DOCUMENTED = [
    "wecombot://4d3a5c2e-1b2f-4c3d-9e8f-0a1b2c3d4e5f",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=4d3a5c2e-1b2f-4c3d-9e8f-0a1b2c3d4e5f",
    "wechat://ww0123456789abcdef:AppSecretValue123@1000002/@zhangsan",
    "wechat://ww0123456789abcdef:AppSecretValue123@1000002/%2312",
    "dingtalk://abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789/",
    "dingtalk://SEC0123456789abcdef@abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789/",
    "dingtalk://SEC0123456789abcdef@abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789/13800138000/",
    "feishu://a1b2c3d4-e5f6-7890-abcd-ef0123456789",
    "lark://a1b2c3d4-e5f6-7890-abcd-ef0123456789",
    "mailtos://notify:password@smtp.example.org:465/secretary@example.org?mode=ssl",
    "mailtos://notify:password@smtp.example.org:587/secretary@example.org",
    "mailto://10.0.0.25:2525/?from=notify@example.org&to=secretary@example.org",
    "json://10.0.0.30:8080/hooks/lostcontact",
    "jsons://hooks.example.org/lostcontact",
]


@pytest.mark.parametrize("url", DOCUMENTED)
def test_documented_url_forms_are_accepted(url):
    assert apprise.Apprise().add(url) is True


def test_channel_keeps_schemes_only():
    assert channel_of(DOCUMENTED[:3]) == "https,wechat,wecombot"
    assert channel_of([]) is None
    person = Person(id="p", name="某", active=True,
                    notify_urls="# 企业微信群\nwecombot://k1\n\n  feishu://t2  \n")
    assert person_urls(person) == ["wecombot://k1", "feishu://t2"]
    person.active = False
    assert person_urls(person) == []


def test_unusable_urls_fail_without_leaking_them():
    result = deliver(["notascheme://topsecret-token", "wecombot://"], "标题", "正文")
    assert result.ok is False
    assert "topsecret" not in result.error


def test_refused_connection_is_a_failure_not_an_exception():
    from .conftest import free_port

    url = f"json://127.0.0.1:{free_port()}/hook?user=alice&pass=pa55word"
    result = deliver([url], "标题", "正文")
    assert result.ok is False and result.error
    assert "pa55word" not in result.error
