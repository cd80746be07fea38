"""Resident ID numbers (GB 11643-1999): 18 characters, area + YYYYMMDD + sequence (odd = male) + ISO 7064
MOD 11-2 check character; legacy 15-digit numbers (area + YYMMDD + sequence, no check) appear in old records.
An unknown area code is not a reason to reject a number (DOMAIN §9)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .codes import Gender

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: upper-case X, no spaces
    birth_date: dt.date
    gender: Gender
    legacy: bool  # a 15-digit number

    def to_18(self) -> str:
        """The 18-digit form of a legacy number (century 19, computed check character)."""
        if not self.legacy:
            return self.number
        first17 = self.number[:6] + "19" + self.number[6:]
        return first17 + check_character(first17)


class InvalidId(ValueError):
    """The Chinese reason a number is not a valid resident ID."""


def parse_resident_id(text: str, *, today: dt.date | None = None) -> ResidentId:
    number = (text or "").strip().replace(" ", "").upper()
    if len(number) == 18:
        if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            raise InvalidId("身份证号应为17位数字加1位数字或X")
        if check_character(number[:17]) != number[17]:
            raise InvalidId(f"身份证号校验位错误（应为{check_character(number[:17])}）")
        birth_text, sequence = number[6:14], number[14:17]
        legacy = False
    elif len(number) == 15:
        if not number.isdigit():
            raise InvalidId("15位身份证号应全为数字")
        birth_text, sequence = "19" + number[6:12], number[12:15]
        legacy = True
    else:
        raise InvalidId(f"身份证号应为18位（旧号15位），实为{len(number)}位")
    try:
        birth = dt.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        raise InvalidId(f"身份证号中的出生日期{birth_text}不是有效日期") from None
    today = today or dt.date.today()
    if birth.year < 1880 or birth > today:
        raise InvalidId(f"身份证号中的出生日期{birth.isoformat()}不合理")
    gender = Gender.MALE if int(sequence[-1]) % 2 == 1 else Gender.FEMALE
    return ResidentId(number, birth, gender, legacy)


def disagreements(rid: ResidentId, *, birth: dt.date | None, birth_month_only: bool, gender: Gender | None) -> list[str]:
    """Where the recorded birth date and gender disagree with what the ID number encodes (Chinese sentences)."""
    problems = []
    if birth is not None:
        same = (birth.year, birth.month) == (rid.birth_date.year, rid.birth_date.month) if birth_month_only \
            else birth == rid.birth_date
        if not same:
            shown = f"{rid.birth_date.year}年{rid.birth_date.month}月" if birth_month_only else rid.birth_date.isoformat()
            problems.append(f"出生年月与身份证号不符（身份证号为{shown}）")
    if gender is not None and gender is not rid.gender:
        problems.append(f"性别与身份证号不符（身份证号为{rid.gender.label}）")
    return problems
