"""The entrance of every text a person types or a file carries: normalised and bounded in one place.

- Codes and ID numbers are NFKC-normalised (full-width `１２３`, `²` and the like become ASCII where Unicode says they
  are the same character), so one person can never be stored twice under two spellings; a resident ID number is then
  ASCII digits and X only.
- No control characters anywhere (NUL, ESC, …): they break exports and terminals. Line breaks only in long texts
  (remarks, descriptions, opinions), where CR LF and CR become LF.
- A maximum length per field: an oversized value is refused at entry, never cut on export (an XLSX cell holds 32,767
  characters; every limit here is far below).
- Dates and times within 1900-2199: year 1 or 9999 would overflow the rules' date arithmetic.

Pure: no I/O. `TextProblem` carries the Chinese reason; `checked_arguments` turns it into a `Refusal` for actions.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import Refusal

RULE = "DOMAIN §2"
MIN_YEAR, MAX_YEAR = 1900, 2199


class TextProblem(ValueError):
    """The Chinese reason a value is refused at the entrance (never the value itself: it may be personal data)."""


@dataclass(frozen=True)
class Field:
    label: str  # what a person calls it
    max_len: int
    multiline: bool = False
    code: bool = False  # an identifier: NFKC, no whitespace inside


SHORT, LONG, CODE_LEN = 200, 4000, 100

# Every text a person can give, by the name it has as an action's argument or a roster field.
FIELDS: dict[str, Field] = {
    # member fields (the roster)
    "name": Field("姓名", 80),
    "ethnicity": Field("民族", 40),
    "phone": Field("联系电话", 40),
    "position": Field("工作岗位", SHORT),
    "backup_contact": Field("备用联系人", SHORT),
    "remarks": Field("备注", 2000, multiline=True),
    "email": Field("电子邮件", SHORT),
    # what people write in actions
    "method": Field("查找方式", SHORT),
    "witness": Field("证明人", 80),
    "description": Field("查找过程", LONG, multiline=True),
    "remark": Field("备注", 2000, multiline=True),
    "grounds": Field("处置依据", LONG, multiline=True),
    "conduct": Field("失联期间表现", LONG, multiline=True),
    "lost_reasons": Field("失联原因", LONG, multiline=True),
    "opinion": Field("意见", LONG, multiline=True),
    "signature_note": Field("签字说明", 1000, multiline=True),
    "guide": Field("指导意见", LONG, multiline=True),
    "summary": Field("问题线索", LONG, multiline=True),
    "reference": Field("材料文号或存档位置", 500),
    "kind": Field("材料名称", SHORT),
    "receiving_org": Field("接收党组织", SHORT),
    "note": Field("说明", 1000, multiline=True),
    "campaign_name": Field("排查活动名称", SHORT),
    # identifiers and codes
    "case_id": Field("案件编号", CODE_LEN, code=True),
    "step_id": Field("步骤编号", CODE_LEN, code=True),
    "campaign_id": Field("排查活动编号", 64, code=True),
    "org_id": Field("组织编号", 64, code=True),
    "base_committee_id": Field("基层党委编号", 64, code=True),
    "member_id": Field("党员编号", CODE_LEN, code=True),
    "letter_id": Field("介绍信编号", 64, code=True),
    "followup_id": Field("后续事项编号", CODE_LEN, code=True),
    "person_id": Field("人员编号", 64, code=True),
    "disposition": Field("处置方式", 60, code=True),
    "verdict": Field("决定", 20, code=True),
    "stage": Field("查找阶段", 40, code=True),
    "outcome": Field("查找结果", 40, code=True),
    "target": Field("移送对象", 40, code=True),
    "role": Field("职务", 40, code=True),
}
# Arguments that carry a date or a moment as ISO text.
DATE_ARGUMENTS = {"attempted_at": "查找时间", "start_date": "排查开始日期", "issued_on": "开具日期",
                  "received_on": "回执日期", "due": "截止时间"}

# What no text may hold, as one regex (a per-character Python loop cost seconds per 10,000-row roster): control
# characters (Cc), surrogates (Cs), invisible formatting (Cf, Unicode 14: zero-width, bidi controls, BOM, tags) and
# the line separators. Line feed and tab are decided by the field. tests/models check it against unicodedata.
_CF = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
       "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
       "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
_FORBIDDEN_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029{_CF}]")
_FORBIDDEN_LINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029{_CF}]")
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _bad_characters(text: str, multiline: bool) -> str | None:
    """The Chinese name of the first forbidden character in `text`, or None. Private-use and not-yet-assigned code
    points stay: rare characters of names (生僻字) live there in legacy GBK exports and in CJK extensions newer than
    this Python's Unicode tables."""
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_LINE).search(text)
    if found is None:
        return None
    ch = found.group()
    if ch in "\n\r\u2028\u2029\x85":
        return "换行符"
    if ch in _BIDI:
        return f"文字方向控制字符（U+{ord(ch):04X}）"
    category = unicodedata.category(ch)
    if category == "Cs":
        return "无效的Unicode字符（代理项）"
    if category == "Cf":  # zero-width and other invisible formatting: twins that look the same on paper
        return f"不可见的格式字符（U+{ord(ch):04X}）"
    return f"控制字符（U+{ord(ch):04X}）"


def clean(value: Any, field: str | Field, *, label: str | None = None) -> str:
    """The value as it may be stored: a string, stripped, within its field's rules. Raises TextProblem."""
    spec = FIELDS[field] if isinstance(field, str) else field
    shown = label or spec.label
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TextProblem(f"{shown}应为文字")
        value = str(value)
    if spec.code:
        value = unicodedata.normalize("NFKC", value)
    if spec.multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Length first: a 10 MB value is refused without scanning it character by character.
    if len(value) > spec.max_len * 2 + 100:
        raise TextProblem(f"{shown}过长（{len(value)}字，最多{spec.max_len}字）")
    problem = _bad_characters(value, spec.multiline)
    if problem:
        raise TextProblem(f"{shown}含有不允许的{problem}")
    value = value.strip()
    if not spec.multiline:
        value = " ".join(value.split("\t")) if "\t" in value else value
    if spec.code and any(ch.isspace() for ch in value):
        raise TextProblem(f"{shown}不能含有空格")
    if len(value) > spec.max_len:
        raise TextProblem(f"{shown}过长（{len(value)}字，最多{spec.max_len}字）")
    return value


def shown(value: Any, limit: int = 40) -> str:
    """A value safe to quote back in a message or a report: control and invisible characters as U+XXXX, cut to
    `limit` characters with an ellipsis (a header or a name may be anything a file carried)."""
    text = "" if value is None else str(value)
    cut = len(text) > limit
    out = []
    for ch in text[:limit]:
        category = unicodedata.category(ch)
        out.append(f"U+{ord(ch):04X}" if category in ("Cc", "Cs", "Cf", "Zl", "Zp") else ch)
    return "".join(out) + ("…" if cut else "")


def mask_id_number(value: Any) -> str:
    """An ID number as reports show it: the first four and the last four characters."""
    text = "" if value is None else str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return shown(text[:4], 4) + "*" * min(len(text) - 8, 10) + shown(text[-4:], 4)


def id_number_text(value: Any) -> str:
    """A resident ID number as ASCII digits and upper-case X (spaces dropped), after NFKC: `１１０…`, `²` and a
    trailing `ｘ` become their ASCII forms. Any other character is refused. Raises TextProblem."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    if len(text) > 64:
        raise TextProblem(f"身份证号过长（{len(text)}字）")
    text = "".join(text.split()).upper()
    if any(ch not in "0123456789X" for ch in text):
        raise TextProblem("身份证号只能由数字和X组成")
    return text


def bounded_date(day: dt.date, label: str) -> dt.date:
    """A date the rules can compute with. Raises TextProblem."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise TextProblem(f"{label}的年份{day.year}超出允许范围（{MIN_YEAR}-{MAX_YEAR}年）")
    return day


def check_iso_date_text(value: Any, label: str) -> None:
    """If `value` reads as an ISO date or date-time, its year must be within range (a malformed value is left to the
    action, which names its own format)."""
    if not isinstance(value, str):
        if isinstance(value, (dt.date, dt.datetime)):
            bounded_date(value, label)
        return
    text = unicodedata.normalize("NFKC", value).strip()
    if len(text) > 64:
        raise TextProblem(f"{label}过长")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    for parse in (dt.datetime.fromisoformat, dt.date.fromisoformat):
        try:
            parsed = parse(text)
        except ValueError:
            continue
        bounded_date(parsed, label)
        return


# Numbers and flags an action takes, with their bounds: a web or API client may send anything.
INT_ARGUMENTS = {"correction_months": ("限期改正期限", 0, 1000), "validity_days": ("介绍信有效期", 0, 100_000),
                 "expected_version": ("版本号", 0, 10**9)}
REQUIRED_INTS = {"validity_days"}
BOOL_ARGUMENTS = {"concludes_stage": "是否结束本阶段", "member_signed": "本人是否签字", "changed": "是否有转变",
                  "accept_valid_rows": "是否只导入无误的行"}
VOTE_KEYS = {"entitled": "应到", "present": "实到", "in_favour": "赞成", "against": "反对", "abstaining": "弃权"}


def _check_number(value: Any, label: str, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TextProblem(f"{label}应为{low}至{high}之间的整数")


def _check_vote(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not set(value) <= set(VOTE_KEYS):
        raise TextProblem("表决情况应包括应到、实到、赞成、反对、弃权人数")
    for key, number in value.items():
        _check_number(number, f"表决{VOTE_KEYS[key]}人数", 0, 100_000)


def clean_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """An action's keyword arguments with every known text argument cleaned and every number, flag and vote checked
    for its type and bounds. Raises Refusal naming the field."""
    out = dict(arguments)
    try:
        for key, value in arguments.items():
            if key in INT_ARGUMENTS:
                if value is None and key in REQUIRED_INTS:
                    raise TextProblem(f"须填写{INT_ARGUMENTS[key][0]}")
                _check_number(value, *INT_ARGUMENTS[key])
            elif key in BOOL_ARGUMENTS:
                if not isinstance(value, bool):
                    raise TextProblem(f"{BOOL_ARGUMENTS[key]}应为是或否")
            elif key == "vote":
                _check_vote(value)
            elif key in FIELDS and not isinstance(value, str) and value is not None:
                raise TextProblem(f"{FIELDS[key].label}应为文字")
            elif key in FIELDS and isinstance(value, str):
                out[key] = clean(value, key)
            elif key in DATE_ARGUMENTS:
                if isinstance(value, str):  # one short line, NFKC (full-width digits read as digits)
                    out[key] = value = clean(value, Field(DATE_ARGUMENTS[key], 64, code=True))
                check_iso_date_text(value, DATE_ARGUMENTS[key])
            elif key == "phases" and isinstance(value, dict):
                for phase, due in value.items():
                    clean(str(phase), Field("阶段", 40, code=True))
                    if isinstance(due, str):
                        clean(due, Field("阶段截止时间", 64, code=True))
                    check_iso_date_text(due, "阶段截止时间")
    except TextProblem as exc:
        raise Refusal("bad_text", str(exc), RULE) from None
    return out


def checked_arguments(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a casework function `fn(work, **kwargs)` (under `@action`) so its text arguments are cleaned first;
    a refusal happens inside the action's transaction, so nothing is written."""

    @functools.wraps(fn)
    def run(work: Any, **kwargs: Any) -> Any:
        if "name" in kwargs and "campaign_id" in kwargs:  # a campaign's name, not a person's
            name = kwargs.pop("name")
            cleaned = clean_arguments({**kwargs, "campaign_name": name})
            cleaned["name"] = cleaned.pop("campaign_name")
            return fn(work, **cleaned)
        return fn(work, **clean_arguments(kwargs))

    return run
