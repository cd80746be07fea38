"""Personal data at rest (issue 20, point 3): no clear-text ID number or phone in any table; lookups through a keyed
hash; member ids that reveal nothing; errors that never carry another member's data; existing rows migrated."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from sqlalchemy import inspect, select, text

from casework.campaigns import start_campaign
from casework.orgs import import_organisations
from casework.queries import member_id_of
from casework.roster import import_roster_bytes
from models import protect
from models.errors import Refusal
from models.idcard import check_character
from models.store import Member, Person
from tests.casework.test_roster import person
from tests.conftest import T0


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _raw_dump(store) -> str:
    """Every value of every table, as the database holds it."""
    chunks = []
    with store.engine.connect() as c:
        for table in inspect(c).get_table_names():
            for row in c.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(str(v) for v in row)
    return "\n".join(chunks)


def test_no_clear_text_id_number_or_phone_in_any_table(orgs):
    rows = [person("张三", 联系电话="13812345678"), person("李四", 联系电话="13987654321")]
    # a bad row repeating a valid ID number: the refusal's report is kept as the request's answer
    duplicate = {**person("王五", 联系电话="13711112222"), "身份证号": rows[0]["身份证号"]}
    with pytest.raises(Refusal):
        import_roster_bytes(orgs, _csv([*rows, duplicate]), "名册.csv", base_committee_id="TOWN",
                            actor_id="town_staff", now=T0, request_id="r-bad")
    import_roster_bytes(orgs, _csv(rows), "名册.csv", base_committee_id="TOWN", actor_id="town_staff", now=T0,
                        request_id="r-good")
    import_roster_bytes(orgs, _csv([{**rows[0], "联系电话": "13600001111"}]), "名册.csv", base_committee_id="TOWN",
                        actor_id="town_staff", now=T0, request_id="r-update")
    import_organisations(orgs, actor_id="town_staff", now=T0, organisations=[], people=[
        {"id": "sec1", "name": "张书记", "phone": "13500009999", "roles": [{"org": "B1", "role": "secretary"}]}])
    start_campaign(orgs, actor_id="town_sec", now=T0, campaign_id="C1", org_id="TOWN", name="排查",
                   start_date="2026-03-07", request_id="r-campaign")
    dump = _raw_dump(orgs)
    for secret in (rows[0]["身份证号"], rows[1]["身份证号"], "13812345678", "13987654321", "13600001111",
                   "13500009999", "13711112222"):
        assert secret not in dump
        assert secret[:14] not in dump  # no prefix either (area and birth date)
    # ... while the application reads them back
    with orgs.reading() as s:
        phones = {m.name: m.phone for m in s.scalars(select(Member))}
        assert phones == {"张三": "13600001111", "李四": "13987654321"}
        assert s.get(Person, "sec1").phone == "13500009999"
        assert member_id_of(s, rows[1]["身份证号"]) == member_id_of(s, rows[1]["身份证号"].lower())


def test_member_ids_are_keyed_not_a_plain_hash_of_the_id_number(orgs):
    row = person("赵六")
    import_roster_bytes(orgs, _csv([row]), "名册.csv", base_committee_id="TOWN", actor_id="town_staff", now=T0)
    with orgs.reading() as s:
        member = s.scalars(select(Member)).one()
    assert member.id != "m" + hashlib.sha256(row["身份证号"].encode()).hexdigest()[:24]
    assert member.id == protect.member_id_for(row["身份证号"])
    other = protect.Keys.from_secrets(b"\x01" * 32)
    assert member.id_hash != protect.hmac.new(other.lookup, row["身份证号"].encode(), hashlib.sha256).hexdigest()


def test_a_database_error_during_an_import_never_prints_the_batch(orgs):
    rows = [person("钱七", 联系电话="13812340000"), person("孙八")]
    # A row already holding the member id the import will mint (under another hash): the INSERT fails in the
    # database, whose message would quote every row of the batch.
    with orgs.writing() as s:
        s.add(Member(id=protect.member_id_for(rows[0]["身份证号"]), id_number="110101198001010011", branch_id="B1",
                     name="占位", gender="male", birth_date=dt.date(1980, 1, 1), kind="full", created_at=T0,
                     updated_at=T0, reported_to_branch=False))
        s.commit()
    with pytest.raises(Refusal) as err:
        import_roster_bytes(orgs, _csv(rows), "名册.csv", base_committee_id="TOWN", actor_id="town_staff", now=T0)
    said = err.value.message + str(err.value.details) + str(err.value)
    for secret in (rows[0]["身份证号"], rows[1]["身份证号"], "13812340000", "钱七", "孙八"):
        assert secret not in said
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_not_found_never_echoes_a_whole_id_number(orgs):
    from models.errors import NotFound

    with orgs.reading() as s, pytest.raises(NotFound) as err:
        member_id_of(s, "11010119850520011X")
    assert "11010119850520011X" not in err.value.message




def test_existing_rows_are_encrypted_by_migration_0005_and_decrypted_by_its_downgrade(unmigrated_store):
    from alembic import command

    from migrations import config, upgrade

    store = unmigrated_store
    first17 = "11010119850520011"
    id18 = first17 + check_character(first17)
    at = dt.datetime(2026, 1, 1)
    upgrade(store.engine, "0004")
    with store.engine.begin() as c:
        c.execute(text("INSERT INTO organisations (id, name, kind, county_or_higher, created_at) "
                       "VALUES ('B', '支部', 'branch', :no, :at)"), {"no": False, "at": at})
        c.execute(text("INSERT INTO members (id, id_number, branch_id, name, gender, birth_date, kind, phone, "
                       "reported_to_branch, created_at, updated_at) VALUES ('m1', :id18, 'B', '甲', 'male', :birth, "
                       "'full', '13800001111', :no, :at, :at)"),
                  {"id18": id18, "birth": dt.date(1985, 5, 20), "no": False, "at": at})
        c.execute(text("INSERT INTO people (id, name, phone, active, created_at) VALUES "
                       "('p1', '乙', '13900002222', :yes, :at)"), {"yes": True, "at": at})
    upgrade(store.engine, "head")
    dump = _raw_dump(store)
    assert id18 not in dump and "13800001111" not in dump and "13900002222" not in dump
    with store.reading() as s:
        m = s.get(Member, "m1")
        assert (m.id_number, m.phone, m.id_hash) == (id18, "13800001111", protect.lookup_hash(id18))
        assert s.get(Person, "p1").phone == "13900002222"
        assert member_id_of(s, id18.lower()) == "m1"

    command.downgrade(config(store.engine), "0004")
    with store.engine.connect() as c:
        assert c.execute(text("SELECT id_number, phone FROM members")).one() == (id18, "13800001111")
        assert c.execute(text("SELECT phone FROM people")).scalar() == "13900002222"
        assert "id_hash" not in {col["name"] for col in inspect(c).get_columns("members")}


def test_keys_come_from_the_environment_and_old_keys_still_decrypt(monkeypatch):
    first, second = protect.generate_secret(), protect.generate_secret()
    try:
        monkeypatch.setenv(protect.KEY_ENV, first)
        protect.reset_keys()
        sealed = protect.encrypt("13800001111")
        hashed = protect.lookup_hash("11010119850520011X")
        monkeypatch.setenv(protect.KEY_ENV, second)
        monkeypatch.setenv(protect.OLD_KEYS_ENV, first)
        protect.reset_keys()
        assert protect.decrypt(sealed) == "13800001111"  # a rotated key still reads old rows
        assert protect.encrypt("x").split(":")[1] != sealed.split(":")[1]  # and new rows use the new key
        assert protect.lookup_hash("11010119850520011X") != hashed
        monkeypatch.delenv(protect.OLD_KEYS_ENV)
        protect.reset_keys()
        with pytest.raises(protect.KeyError_) as err:
            protect.decrypt(sealed)
        assert "13800001111" not in str(err.value)
        monkeypatch.setenv(protect.KEY_ENV, "not base64 !!")
        protect.reset_keys()
        with pytest.raises(protect.KeyError_):
            protect.keys()
    finally:
        monkeypatch.undo()
        protect.reset_keys()


def test_a_key_rotation_reencrypts_everything_and_the_old_key_retires(orgs, monkeypatch):
    from casework.rekey import rekey

    old, new = protect.generate_secret(), protect.generate_secret()
    row = person("周九", 联系电话="13800002222")
    try:
        monkeypatch.setenv(protect.KEY_ENV, old)
        protect.reset_keys()
        import_roster_bytes(orgs, _csv([row]), "名册.csv", base_committee_id="TOWN", actor_id="town_staff", now=T0)
        monkeypatch.setenv(protect.KEY_ENV, new)
        monkeypatch.setenv(protect.OLD_KEYS_ENV, old)
        protect.reset_keys()
        assert rekey(orgs)["members"] == 1
        monkeypatch.delenv(protect.OLD_KEYS_ENV)
        protect.reset_keys()  # the old key is gone: everything still reads and is found
        with orgs.reading() as s:
            member = s.scalars(select(Member)).one()
            assert (member.id_number, member.phone) == (row["身份证号"], "13800002222")
            assert member_id_of(s, row["身份证号"]) == member.id
            assert s.get(Person, "sec1").phone is None
        assert row["身份证号"] not in _raw_dump(orgs)
    finally:
        monkeypatch.undo()
        protect.reset_keys()


def test_database_errors_in_an_action_never_quote_the_row(orgs):
    from casework.uow import StoreError, Work, action
    from models.views import Answer

    @action("test_failing_write", Answer)
    def failing(work: Work) -> dict:
        # NOT NULL columns missing: PostgreSQL's message would quote the failing row
        work.session.execute(text("INSERT INTO organisations (id, name) VALUES ('X', '13812349999')"))
        return {}

    with pytest.raises(StoreError) as err:
        failing(orgs, now=T0)
    assert "13812349999" not in str(err.value) and err.value.__cause__ is None
