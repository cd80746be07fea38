"""Calendar rules: the lost-contact boundary, the out-of-control month, the lost-contact duration text."""
import datetime as dt

import pytest

from models.timing import is_lost_contact, is_out_of_control, lost_contact_cutoff, lost_contact_duration

D = dt.date


def test_exactly_six_calendar_months_back_is_lost_contact_one_day_later_is_not():
    start = D(2026, 3, 7)
    assert lost_contact_cutoff(start) == D(2025, 9, 7)
    assert is_lost_contact(D(2025, 9, 7), start) is True
    assert is_lost_contact(D(2025, 9, 8), start) is False
    assert is_lost_contact(D(2025, 9, 6), start) is True
    assert is_lost_contact(D(2026, 3, 6), start) is False


def test_no_recorded_contact_is_lost_contact():
    assert is_lost_contact(None, D(2026, 3, 7)) is True


@pytest.mark.parametrize("start, cutoff", [
    (D(2026, 8, 31), D(2026, 2, 28)),
    (D(2024, 8, 31), D(2024, 2, 29)),  # leap year
    (D(2026, 3, 31), D(2025, 9, 30)),
    (D(2026, 1, 15), D(2025, 7, 15)),
    (D(2026, 6, 30), D(2025, 12, 30)),
])
def test_month_end_arithmetic(start, cutoff):
    assert lost_contact_cutoff(start) == cutoff
    assert is_lost_contact(cutoff, start) is True
    assert is_lost_contact(cutoff + dt.timedelta(days=1), start) is False


def test_out_of_control_needs_more_than_one_month():
    away = D(2026, 1, 10)
    assert is_out_of_control(away, False, D(2026, 2, 10)) is False  # exactly one month: not yet
    assert is_out_of_control(away, False, D(2026, 2, 11)) is True
    assert is_out_of_control(away, True, D(2026, 6, 1)) is False  # reported to the branch
    assert is_out_of_control(None, False, D(2026, 6, 1)) is False
    # month end: one month after 31 January is 28 February
    assert is_out_of_control(D(2026, 1, 31), False, D(2026, 2, 28)) is False
    assert is_out_of_control(D(2026, 1, 31), False, D(2026, 3, 1)) is True


@pytest.mark.parametrize("last, end, text", [
    (None, D(2026, 3, 20), "无联系记录"),
    (D(2024, 1, 15), D(2026, 3, 20), "2年2个月"),
    (D(2024, 3, 15), D(2026, 3, 20), "2年"),
    (D(2025, 11, 1), D(2026, 3, 20), "4个月"),
    (D(2026, 3, 1), D(2026, 3, 20), "19天"),
    (D(2025, 9, 7), D(2026, 3, 7), "6个月"),
])
def test_lost_contact_duration(last, end, text):
    assert lost_contact_duration(last, end) == text
