"""Channels: the documented Apprise URL forms, checked when entered, encrypted at rest, masked when shown, one group
per organisation; the people's old clear `notify_urls` moved into channels."""
from __future__ import annotations

import apprise
import pytest
from sqlalchemy import text

from casework.deliveries import check_url, list_channels, migrate_person_urls, remove_channel, set_channel, unreached
from models.errors import Refusal
from models.store import Person
from notifications.channels import deliver
from tests.conftest import T0

from .conftest import free_port

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
WECOM = "wecombot://4d3a5c2e-1b2f-4c3d-9e8f-0a1b2c3d9f3a"


@pytest.mark.parametrize("url", DOCUMENTED)
def test_documented_url_forms_are_accepted(url):
    assert apprise.Apprise().add(url) is True
    assert check_url(url)


def test_a_wecom_webhook_given_as_https_is_a_wecom_group():
    assert check_url(DOCUMENTED[1]) == "wecombot"
    assert check_url(DOCUMENTED[9]) == "mailtos"


@pytest.mark.parametrize("url", ["", "notascheme://topsecret-token", "wecombot://", "wecombot://a b", "x" * 3000])
def test_unusable_urls_are_refused_without_repeating_them(orgs, url):
    with pytest.raises(Refusal) as refused:
        set_channel(orgs, actor_id=None, now=T0, org_id="B1", url=url)
    assert refused.value.code == "bad_channel" and "topsecret" not in refused.value.text


def test_channel_is_encrypted_at_rest_masked_when_listed_and_kept_once(orgs):
    first = set_channel(orgs, actor_id=None, now=T0, org_id="B1", url=WECOM, label="东村工作群")
    again = set_channel(orgs, actor_id=None, now=T0, org_id="B1", url=WECOM)
    assert first.channel_id == again.channel_id
    assert first.masked == "wecombot://…9f3a" and first.group is True
    with orgs.reading() as s:
        raw = " ".join(str(v) for row in s.execute(text("SELECT * FROM channels")) for v in row)
        audit = " ".join(str(v) for row in s.execute(text("SELECT payload FROM audit_events")) for v in row)
        listed = list_channels(s, org_id="B1")
    assert "4d3a5c2e" not in raw and "4d3a5c2e" not in audit and "4d3a5c2e" not in str(listed)
    assert [c.masked for c in listed] == ["wecombot://…9f3a"]
    removed = remove_channel(orgs, actor_id=None, now=T0, channel_id=first.channel_id)
    assert removed.removed
    with orgs.reading() as s:
        assert list_channels(s) == []


def test_group_robot_belongs_to_an_organisation_and_keepers_set_channels(orgs):
    with pytest.raises(Refusal) as refused:
        set_channel(orgs, actor_id="sec1", now=T0, person_id="sec1", url=WECOM)
    assert refused.value.code == "group_channel_on_person"
    mail = "mailto://10.0.0.25:2525/?from=notify@example.org&to=sec1@example.org"
    assert set_channel(orgs, actor_id="sec1", now=T0, person_id="sec1", url=mail).group is False  # oneself
    set_channel(orgs, actor_id="town_staff", now=T0, org_id="B1", url=WECOM)  # the committee above
    with pytest.raises(Refusal) as refused:
        set_channel(orgs, actor_id="sec2", now=T0, org_id="B1", url=WECOM)  # another branch's secretary
    assert refused.value.code == "not_channel_keeper"


def test_old_notify_urls_move_into_channels_and_leave_the_people_table(orgs):
    mail = "mailto://10.0.0.25:2525/?from=notify@example.org&to=sec1@example.org"
    with orgs.writing() as s:
        s.get(Person, "sec1").notify_urls = f"# 群\n{WECOM}\n{mail}\n"
        s.get(Person, "org1").notify_urls = WECOM  # the same group, given to the branch's second person
        s.commit()
    assert migrate_person_urls(orgs, now=T0) == 2
    assert migrate_person_urls(orgs, now=T0) == 0
    with orgs.reading() as s:
        channels = list_channels(s)
        assert s.execute(text("SELECT count(*) FROM people WHERE notify_urls IS NOT NULL")).scalar() == 0
        gaps = unreached(s)
    assert sorted((c.org_id or "", c.person_id or "", c.scheme) for c in channels) == \
        [("", "sec1", "mailto"), ("B1", "", "wecombot")]
    assert "B1" not in [o["org_id"] for o in gaps["organisations"]]
    assert "org1" not in [p["person_id"] for p in gaps["people"]]  # reached through the branch's group
    assert "sec2" in [p["person_id"] for p in gaps["people"]]


def test_unusable_urls_fail_without_leaking_them():
    result = deliver("notascheme://topsecret-token", "标题", "正文")
    assert result.ok is False
    assert "topsecret" not in result.error


def test_refused_connection_is_a_failure_not_an_exception():
    url = f"json://127.0.0.1:{free_port()}/hook?user=alice&pass=pa55word"
    result = deliver(url, "标题", "正文")
    assert result.ok is False and result.error
    assert "pa55word" not in result.error


def test_key_rotation_rewrites_every_channel_under_the_new_key(orgs, monkeypatch):
    from cryptography.fernet import Fernet

    from casework.deliveries import channel_url, rekey_channels

    old = __import__("os").environ["LOSTCONTACT_CHANNEL_KEY"]
    view = set_channel(orgs, actor_id=None, now=T0, org_id="B1", url=WECOM)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("LOSTCONTACT_CHANNEL_KEY", f"{new},{old}")  # the new key first, the old one still read
    assert rekey_channels(orgs, now=T0) == 1
    monkeypatch.setenv("LOSTCONTACT_CHANNEL_KEY", new)  # the old key retired
    with orgs.reading() as s:
        assert channel_url(s, view.channel_id) == WECOM
    assert set_channel(orgs, actor_id=None, now=T0, org_id="B1", url=WECOM).channel_id == view.channel_id
