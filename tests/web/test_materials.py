"""Uploaded materials: size and type checked by content, kept with a checksum, downloaded by those entitled only,
every download audited; an oversized body is refused before it is read."""
from __future__ import annotations

from sqlalchemy import select

from models.accounts_store import StoredFile
from models.codes import Stage
from models.store import AuditEvent, Material
from tests.casework.drive import propose, search
from tests.web.world import build_world, client_for, csrf_of, sign_in

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _ready(store):
    cases = build_world(store)
    case_id = cases["东村党员1"]
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    propose(store, case_id, "normal_management")
    client = client_for(store)
    sign_in(client, "sec1")
    return client, case_id, cases


def _upload(client, case_id, name, content, request_id):
    page = client.get(f"/cases/{case_id}")
    return client.post(f"/cases/{case_id}/material", data={
        "csrf": csrf_of(page.text), "request_id": request_id, "kind": "党员本人签名的申请", "reference": ""},
        files={"file": (name, content, "application/octet-stream")})


def test_upload_download_and_audit(store):
    client, case_id, cases = _ready(store)
    answer = _upload(client, case_id, "申请书.pdf", PDF, "up-1")
    assert answer.status_code == 303
    with store.reading() as s:
        stored = s.scalar(select(StoredFile).where(StoredFile.case_id == case_id))
        assert stored.size == len(PDF) and stored.content_type == "application/pdf"
        assert s.scalar(select(Material).where(Material.case_id == case_id)).reference == "电子文件：申请书.pdf"
    got = client.get(f"/files/{stored.id}")
    assert got.status_code == 200 and got.content == PDF
    assert "attachment" in got.headers["content-disposition"]
    with store.reading() as s:
        read = s.scalar(select(AuditEvent).where(AuditEvent.action == "read:file"))
    assert read.actor_id == "sec1" and read.payload["file_id"] == stored.id
    other = client_for(store)
    sign_in(other, "sec2")
    assert other.get(f"/files/{stored.id}").status_code == 404


def test_wrong_type_and_oversize_are_refused(store):
    client, case_id, _ = _ready(store)
    fake = _upload(client, case_id, "申请书.pdf", b"MZ\x90\x00 not a pdf", "up-2")
    assert fake.status_code == 409 and "文件内容与扩展名.pdf不符" in fake.text
    exe = _upload(client, case_id, "run.exe", b"MZ\x90\x00", "up-3")
    assert exe.status_code == 409 and "只能上传" in exe.text
    huge = _upload(client, case_id, "scan.pdf", PDF + b"0" * (13 * 1024 * 1024), "up-4")
    assert huge.status_code == 413 and "10MB" in huge.text
    with store.reading() as s:
        assert s.scalar(select(StoredFile)) is None
        assert s.scalar(select(Material)) is None


def test_administrator_sets_a_group_channel_shown_masked(store):
    from casework.deliveries import list_channels

    build_world(store)
    client = client_for(store)
    sign_in(client, "town_sec")
    page = client.get("/admin")
    assert "收不到提醒" in page.text and "东村党支部" in page.text
    url = "wecombot://abcdefgh12345678secretkey9f3a"
    saved = client.post("/admin/channels", data={"csrf": csrf_of(page.text), "request_id": "ch-1",
                                                 "owner": "org:B1", "url": url, "label": "东村群"})
    assert saved.status_code == 200 and "提醒渠道已保存" in saved.text
    assert url not in saved.text and "secretkey" not in saved.text and "9f3a" in saved.text
    with store.reading() as s:
        assert [c.org_id for c in list_channels(s)] == ["B1"]
    bad = client.post("/admin/channels", data={"csrf": csrf_of(page.text), "request_id": "ch-2",
                                               "owner": "person:sec1", "url": url})
    assert bad.status_code == 409 and "群机器人" in bad.text
    outsider = client_for(store)
    sign_in(outsider, "sec2")
    other = outsider.get("/admin")
    refused = outsider.post("/admin/channels", data={"csrf": csrf_of(other.text), "request_id": "ch-3",
                                                     "owner": "org:B1", "url": "mailto://a@example.org"})
    assert refused.status_code == 409
