"""The time-order rules, pure (models/chronology.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from models.chronology import FUTURE_TOLERANCE, check_campaign, check_moment, day_problem
from models.codes import CampaignPhase
from models.errors import Refusal
from models.statistics import NEVER, counted_after_finding, counts_on, pocket_counted_from
from models.timing import LOCAL_TZ, UTC

NOW = dt.datetime(2026, 3, 17, 1, 0, tzinfo=UTC)


def test_a_moment_within_the_tolerance_is_not_in_the_future():
    check_moment("x", "时间", NOW + FUTURE_TOLERANCE, now=NOW)
    with pytest.raises(Refusal) as err:
        check_moment("x", "时间", NOW + FUTURE_TOLERANCE + dt.timedelta(seconds=1), now=NOW)
    assert err.value.code == "x_in_future"


def test_the_founding_day_itself_is_possible_and_the_day_before_is_not():
    check_moment("x", "时间", dt.datetime(1921, 7, 1, 0, 0, tzinfo=LOCAL_TZ), now=NOW)
    assert day_problem("日期", dt.date(1921, 6, 30), today=NOW.date()) == "日期（1921-06-30）早于中国共产党成立（1921年7月1日）"


def test_phases_in_order_after_the_start():
    start = dt.date(2026, 3, 7)
    due = lambda d: dt.datetime(2026, *d, 23, 59, tzinfo=LOCAL_TZ)  # noqa: E731
    check_campaign("排查", start, {CampaignPhase.VERIFY: due((3, 15)), CampaignPhase.SEARCH: due((3, 31))}, now=NOW)
    with pytest.raises(Refusal) as err:
        check_campaign("排查", start, {CampaignPhase.SEARCH: due((3, 15)), CampaignPhase.REPORT: due((3, 10))},
                       now=NOW)
    assert err.value.code == "phases_out_of_order" and "报送统计表" in err.value.message


def test_pocket_counting():
    assert pocket_counted_from(dt.date(2026, 2, 1), dt.date(2026, 3, 1)) == dt.date(2026, 9, 1)
    assert pocket_counted_from(None, dt.date(2026, 3, 1)) == dt.date(2026, 9, 1)
    assert pocket_counted_from(dt.date(2026, 4, 1), dt.date(2026, 3, 1)) == dt.date(2026, 10, 1)
    assert counted_after_finding(dt.date(2026, 9, 1), dt.date(2026, 8, 31)) is NEVER
    assert counted_after_finding(dt.date(2026, 9, 1), dt.date(2026, 9, 1)) == dt.date(2026, 9, 1)
    assert counted_after_finding(None, dt.date(2026, 1, 1)) is None
    assert counts_on(None, dt.date(2000, 1, 1)) and not counts_on(NEVER, dt.date(2999, 1, 1))
    assert counts_on(dt.date(2026, 9, 1), dt.date(2026, 9, 1)) and not counts_on(dt.date(2026, 9, 1), dt.date(2026, 8, 31))
