"""Transfer letters and their receipts [000 §2]: who records a receipt, and dates that are not dates."""
from __future__ import annotations

import datetime as dt

import pytest

from casework.followups import issue_transfer_letter, record_receipt
from models.codes import FollowUpStatus
from models.errors import Refusal
from models.store import FollowUp, TransferLetter
from tests.casework.drive import add_member
from tests.conftest import T0

LATER = T0 + dt.timedelta(days=45)


def issue(store, letter_id: str, **extra) -> dict:
    mid = add_member(store, name="吴十")
    return issue_transfer_letter(store, actor_id="sec1", now=T0, letter_id=letter_id, member_id=mid,
                                 receiving_org="某区街道党工委", **{"issued_on": "2026-03-01", "validity_days": 30,
                                                                 **extra})


def receipt(store, letter_id: str, actor_id: str | None, received_on: str = "2026-04-10") -> dict:
    # Recorded after the day it came back: a receipt dated in the future is refused (models.chronology).
    return record_receipt(store, actor_id=actor_id, now=LATER, letter_id=letter_id, received_on=received_on)


@pytest.mark.parametrize("actor", [
    "sec2",        # another branch of the same base committee
    "other_sec",   # another base committee and its branch
    "county_org",  # the department above: the receipt travels between the base committees
])
def test_a_receipt_is_recorded_only_by_the_issuing_branch_or_its_base_committee(orgs, actor):
    issue(orgs, "L-1")
    with pytest.raises(Refusal) as err:
        receipt(orgs, "L-1", actor)
    assert err.value.code == "wrong_level"
    assert err.value.text.startswith("介绍信回执由开具介绍信的党支部或其基层党委登记（依据：")
    with orgs.reading() as s:
        assert s.get(TransferLetter, "L-1").receipt_on is None
        assert s.get(FollowUp, "receipt:L-1").status is FollowUpStatus.PENDING


def test_a_receipt_needs_an_actor(orgs):
    issue(orgs, "L-1")
    with pytest.raises(Refusal) as err:
        receipt(orgs, "L-1", None)
    assert err.value.code == "actor_required"


@pytest.mark.parametrize("actor", ["sec1", "town_staff", "town_sec"])
def test_the_issuing_side_records_the_receipt(orgs, actor):
    issue(orgs, "L-1")
    assert receipt(orgs, "L-1", actor).receipt_on == "2026-04-10"
    with orgs.reading() as s:
        assert s.get(FollowUp, "receipt:L-1").status is FollowUpStatus.CANCELLED


@pytest.mark.parametrize("issued_on", ["2026-02-30", "下周一", ""])
def test_a_letter_with_a_bad_date_is_refused(orgs, issued_on):
    with pytest.raises(Refusal) as err:
        issue(orgs, "L-1", issued_on=issued_on)
    assert err.value.code == "bad_date"
    assert err.value.message == f"开具日期“{issued_on}”不是有效日期（应为YYYY-MM-DD）"
    with orgs.reading() as s:
        assert s.get(TransferLetter, "L-1") is None


@pytest.mark.parametrize("received_on, message", [
    ("2026-04-31", "回执日期“2026-04-31”不是有效日期（应为YYYY-MM-DD）"),
    ("2026-02-28", "回执日期2026-02-28早于介绍信开具日期2026-03-01"),
])
def test_a_receipt_with_a_bad_date_is_refused(orgs, received_on, message):
    issue(orgs, "L-1")
    with pytest.raises(Refusal) as err:
        receipt(orgs, "L-1", "town_sec", received_on)
    assert err.value.code == "bad_date" and err.value.message == message
    with orgs.reading() as s:
        assert s.get(TransferLetter, "L-1").receipt_on is None
