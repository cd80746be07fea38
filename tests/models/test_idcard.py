"""Resident ID numbers (GB 11643-1999): check character, birth date and gender, legacy 15-digit numbers, refusals."""
import datetime as dt

import pytest

from models.codes import Gender
from models.idcard import InvalidId, check_character, disagreements, parse_resident_id

KNOWN = "11010519491231002X"  # the standard's own example: Beijing Chaoyang, 1949-12-31, sequence 002 (female)


def test_check_character_of_the_standard_example():
    assert check_character(KNOWN[:17]) == "X"
    assert check_character("11010519491231003") == "8"
    assert check_character("15010219850602011") == "1"


def test_known_valid_number():
    rid = parse_resident_id(KNOWN)
    assert rid.number == KNOWN
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.gender is Gender.FEMALE
    assert rid.legacy is False
    assert rid.to_18() == KNOWN


def test_lower_case_x_and_spaces_are_normalised():
    rid = parse_resident_id(" 110105 19491231 002x ")
    assert rid.number == KNOWN


def test_odd_sequence_is_male():
    rid = parse_resident_id("110105194912310038")
    assert rid.gender is Gender.MALE
    assert rid.birth_date == dt.date(1949, 12, 31)


def test_legacy_15_digit_number_and_its_18_digit_form():
    rid = parse_resident_id("110105491231002")
    assert rid.legacy is True
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.gender is Gender.FEMALE
    assert rid.number == "110105491231002"
    assert rid.to_18() == KNOWN
    assert parse_resident_id("110105491231003").to_18() == "110105194912310038"
    assert parse_resident_id("110105491231003").gender is Gender.MALE


@pytest.mark.parametrize("text, reason", [
    ("11010519491231002", "身份证号应为18位（旧号15位），实为17位"),
    ("", "身份证号应为18位（旧号15位），实为0位"),
    ("1101051949123100201", "身份证号应为18位（旧号15位），实为19位"),
    ("11010519491231A02X", "身份证号应为17位数字加1位数字或X"),
    ("1101051949123100XX", "身份证号应为17位数字加1位数字或X"),
    ("110105194912310021", "身份证号校验位错误（应为X）"),
    ("110105194912310030", "身份证号校验位错误（应为8）"),
    ("11010549123100A", "15位身份证号应全为数字"),
    ("110105194902310026", "身份证号中的出生日期19490231不是有效日期"),
    ("110105490231002", "身份证号中的出生日期19490231不是有效日期"),
    ("110105187001010020", "身份证号中的出生日期1870-01-01不合理"),
])
def test_every_refusal_reason(text, reason):
    with pytest.raises(InvalidId) as err:
        parse_resident_id(text)
    assert str(err.value) == reason


def test_a_birth_date_after_today_is_refused():
    number = "11010520260308002"
    number += check_character(number)
    with pytest.raises(InvalidId) as err:
        parse_resident_id(number, today=dt.date(2026, 3, 7))
    assert str(err.value) == "身份证号中的出生日期2026-03-08不合理"
    assert parse_resident_id(number, today=dt.date(2026, 3, 8)).birth_date == dt.date(2026, 3, 8)


def test_disagreements():
    rid = parse_resident_id(KNOWN)
    assert disagreements(rid, birth=dt.date(1949, 12, 31), birth_month_only=False, gender=Gender.FEMALE) == []
    assert disagreements(rid, birth=dt.date(1949, 12, 1), birth_month_only=True, gender=None) == []
    assert disagreements(rid, birth=None, birth_month_only=False, gender=None) == []
    assert disagreements(rid, birth=dt.date(1949, 12, 30), birth_month_only=False, gender=None) == [
        "出生年月与身份证号不符（身份证号为1949-12-31）"]
    assert disagreements(rid, birth=dt.date(1949, 11, 1), birth_month_only=True, gender=Gender.MALE) == [
        "出生年月与身份证号不符（身份证号为1949年12月）", "性别与身份证号不符（身份证号为女）"]
