"""Deterministic synthetic rosters (党员名册) for tests, demos and benchmarks.

Every row looks like what a branch secretary types: Chinese names, valid 18-digit resident ID numbers (a few legacy
15-digit ones) whose birth date and gender agree with the row, plausible join dates, mobile numbers, the [002] codes
written the several ways people write them, dates in several formats. A chosen fraction of members is lost-contact
as of a date (last contact on or before six months back, or none), a few are probationary, and with `bad_rows=k`
exactly k rows carry exactly one defect each, so the expected error count is known.

No row is a real person: names are drawn from common surnames and given-name characters, ID numbers from a few
real area codes with random birth dates and sequence numbers."""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from dateutil.relativedelta import relativedelta

from models.codes import Occupation, Situation
from models.idcard import check_character
from models.timing import lost_contact_cutoff

HEADERS = ("姓名", "性别", "民族", "出生年月", "入党时间", "身份证号", "联系电话", "工作岗位", "职业", "所在党支部",
           "党员类别", "最近联系日期", "失去联系情形", "备用联系人", "备注", "外出时间", "是否已报告")
DATE_HEADERS = ("入党时间", "最近联系日期", "外出时间")
BAD_KINDS = ("bad_check_digit", "unknown_branch", "gender_mismatch", "bad_date", "duplicate_id")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋志国建新文利清峰海东亮成永全春德胜"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀英桂玉兰婷雪慧琳颖倩晶燕红梅丹萍玲洁琴云凤莉荣华霞月彩珍翠琼"
MINORITIES = ("回族", "蒙古族", "满族", "壮族", "藏族", "维吾尔族", "苗族", "彝族", "土家族", "朝鲜族")
AREA_CODES = ("110105", "110108", "120101", "130102", "140105", "150102", "150203", "210102", "220102", "230102",
              "310104", "310115", "320106", "330106", "340103", "350102", "360102", "370102", "410105", "420106",
              "430104", "440106", "440305", "450103", "500103", "510107", "520102", "530102", "610102", "610113",
              "620102", "630102", "640104", "650102")
POSITIONS = ("外出务工", "个体经营", "建筑工人", "快递员", "教师", "退休", "公司职员", "网约车司机", "务农", "自由职业",
             "销售", "厨师", "护士", "技术员", "待业", "村干部", "保安", "会计")
RELATIONS = ("父亲", "母亲", "配偶", "哥哥", "姐姐", "儿子", "女儿", "邻居")
LOST_REMARKS = ("据家人反映在广东打工", "曾在上海务工，电话停机", "原单位破产后去向不明", "听说已去外省定居",
                "毕业后未转组织关系", "多次拨打电话无人接听")
OTHER_REASONS = ("具体原因：长期在外照顾病人", "具体原因：家庭变故后迁居", "具体原因：服刑期满后未报到")
BAD_DATES = ("2019-13-01", "2019-02-30", "去年七月", "20190231", "2019/00/12", "2019年13月")


@dataclass
class SampleRoster:
    rows: list[dict[str, str]]
    lost: set[int] = field(default_factory=set)  # row indices lost-contact as of `as_of`
    bad: dict[int, str] = field(default_factory=dict)  # row index -> the defect (one of BAD_KINDS)
    duplicate_of: dict[int, int] = field(default_factory=dict)  # bad duplicate row index -> the earlier row index

    def line_of(self, index: int) -> int:
        """The line (CSV) or sheet row (XLSX) of a row as `write_csv`/`write_xlsx` write it: header is line 1."""
        return index + 2


def generate_roster(branch_ids, n: int, *, seed: int, as_of: dt.date, lost_fraction: float = 0.3,
                    bad_rows: int = 0) -> list[dict[str, str]]:
    """`n` rows with the Chinese headers; exactly round(n*lost_fraction) lost-contact as of `as_of` and exactly
    `bad_rows` bad rows (see `generate_sample` for which)."""
    return generate_sample(branch_ids, n, seed=seed, as_of=as_of, lost_fraction=lost_fraction,
                           bad_rows=bad_rows).rows


def generate_sample(branch_ids, n: int, *, seed: int, as_of: dt.date, lost_fraction: float = 0.3,
                    bad_rows: int = 0) -> SampleRoster:
    branch_ids = list(branch_ids)
    if not branch_ids:
        raise ValueError("branch_ids is empty")
    if not 0 <= bad_rows <= n:
        raise ValueError("bad_rows must be between 0 and n")
    rng = random.Random(seed)
    cutoff = lost_contact_cutoff(as_of)
    lost = set(rng.sample(range(n), round(n * lost_fraction)))
    probationary = set(rng.sample(range(n), max(0, round(n * 0.05))))
    used_ids: set[str] = set()
    rows = [_row(rng, i in lost, i in probationary, rng.choice(branch_ids), as_of, cutoff, used_ids)
            for i in range(n)]
    sample = SampleRoster(rows, lost=lost)
    _spoil(rng, sample, bad_rows)
    return sample


def _row(rng: random.Random, lost: bool, probationary: bool, branch: str, as_of: dt.date, cutoff: dt.date,
         used_ids: set[str]) -> dict[str, str]:
    male = rng.random() < 0.55
    age_days = rng.randint(20 * 365, (40 if probationary else 88) * 365)
    birth = as_of - dt.timedelta(days=age_days)
    id_text = _id_number(rng, birth, male, used_ids)

    if probationary:
        joined = as_of - dt.timedelta(days=rng.randint(10, 330))
    else:
        earliest = birth + relativedelta(years=18, days=30)
        latest = min(as_of - dt.timedelta(days=400), earliest + relativedelta(years=30))
        joined = earliest + dt.timedelta(days=rng.randint(0, max(0, (latest - earliest).days)))

    if lost:
        last = None if rng.random() < 0.1 else cutoff - dt.timedelta(days=rng.choice((0, rng.randint(1, 9 * 365))))
    else:
        last = cutoff + dt.timedelta(days=rng.randint(1, (as_of - cutoff).days))

    situation = ""
    remarks = ""
    if lost:
        code = rng.choices(range(1, 8), weights=(40, 8, 10, 12, 6, 18, 6))[0]
        situation = _code_text(rng, Situation(code))
        if code == Situation.OTHER:
            remarks = rng.choice(OTHER_REASONS)
        elif rng.random() < 0.3:
            remarks = rng.choice(LOST_REMARKS)

    away, reported = "", ""
    if rng.random() < 0.25:
        away_day = as_of - dt.timedelta(days=rng.randint(20, 5 * 365))
        away = _date_text(rng, away_day)
        reported = rng.choice(("是", "否"))

    occupation = rng.choices(range(1, 9), weights=(6, 12, 40, 8, 12, 10, 4, 8))[0]
    surname = _surname(rng)
    return {
        "姓名": surname + _given(rng, male),
        "性别": "男" if male else "女",
        "民族": "汉族" if rng.random() < 0.9 else rng.choice(MINORITIES),
        "出生年月": _birth_text(rng, birth),
        "入党时间": _date_text(rng, joined, month_ok=True),
        "身份证号": id_text,
        "联系电话": "" if rng.random() < 0.08 else _phone(rng),
        "工作岗位": rng.choice(POSITIONS),
        "职业": _code_text(rng, Occupation(occupation)),
        "所在党支部": branch,
        "党员类别": ("预备党员" if rng.random() < 0.8 else "预备") if probationary
        else ("正式党员" if rng.random() < 0.8 else "正式"),
        "最近联系日期": _date_text(rng, last) if last else "",
        "失去联系情形": situation,
        "备用联系人": f"{rng.choice(RELATIONS)} {surname}{_given(rng, rng.random() < 0.5)} {_phone(rng)}"
        if rng.random() < 0.6 else "",
        "备注": remarks,
        "外出时间": away,
        "是否已报告": reported,
    }


def _id_number(rng: random.Random, birth: dt.date, male: bool, used: set[str]) -> str:
    while True:
        area = rng.choice(AREA_CODES)
        sequence = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
        if birth.year < 1985 and rng.random() < 0.03:  # an old 15-digit number (no check character)
            number = f"{area}{birth:%y%m%d}{sequence:03d}"
            first17 = f"{area}19{birth:%y%m%d}{sequence:03d}"
            full = first17 + check_character(first17)
        else:
            first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
            number = full = first17 + check_character(first17)
        if full not in used:
            used.add(full)
            return number


def _surname(rng: random.Random) -> str:
    return rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(SURNAMES)


def _given(rng: random.Random, male: bool) -> str:
    chars = MALE_CHARS if male else FEMALE_CHARS
    return "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.3 else 2))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


def _code_text(rng: random.Random, code) -> str:
    style = rng.random()
    if style < 0.4:
        return code.circled
    if style < 0.7:
        return str(int(code))
    if style < 0.9:
        return code.display
    return code.label


def _birth_text(rng: random.Random, birth: dt.date) -> str:
    style = rng.random()
    if style < 0.4:
        return f"{birth.year}-{birth.month:02d}"
    if style < 0.6:
        return f"{birth.year}年{birth.month}月"
    if style < 0.8:
        return f"{birth.year}.{birth.month:02d}"
    return birth.isoformat()


def _date_text(rng: random.Random, day: dt.date, *, month_ok: bool = False) -> str:
    style = rng.random()
    if month_ok and style < 0.2:
        return f"{day.year}.{day.month:02d}"
    if style < 0.6:
        return day.isoformat()
    if style < 0.8:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def _spoil(rng: random.Random, sample: SampleRoster, k: int) -> None:
    """Give exactly k rows one defect each, cycling through BAD_KINDS. A duplicate copies the person of an earlier
    row that stays good, so its only fault is the repeated ID number."""
    rows = sample.rows
    chosen = sorted(rng.sample(range(len(rows)), k))
    bad = set(chosen)
    originals_used: set[int] = set()
    for n, index in enumerate(chosen):
        kind = BAD_KINDS[n % len(BAD_KINDS)]
        row = rows[index]
        if kind == "duplicate_id":
            candidates = [j for j in range(index) if j not in bad and j not in originals_used]
            if not candidates:
                kind = "bad_check_digit"
            else:
                j = rng.choice(candidates)
                originals_used.add(j)
                for header in ("姓名", "性别", "出生年月", "入党时间", "身份证号"):
                    row[header] = rows[j][header]
                sample.duplicate_of[index] = j
        if kind == "bad_check_digit":
            number = row["身份证号"]
            if len(number) == 15:
                first17 = number[:6] + "19" + number[6:]
            else:
                first17 = number[:17]
            right = check_character(first17)
            row["身份证号"] = first17 + rng.choice([c for c in "0123456789X" if c != right])
        elif kind == "unknown_branch":
            row["所在党支部"] = rng.choice(("不存在的党支部", "NO-SUCH-BRANCH", "第九十九党支部"))
        elif kind == "gender_mismatch":
            row["性别"] = "女" if row["性别"] == "男" else "男"
        elif kind == "bad_date":
            row["入党时间"] = rng.choice(BAD_DATES)
        sample.bad[index] = kind


# ---------------------------------------------------------------- files


def write_csv(rows: list[dict[str, Any]], path, *, encoding: str = "utf-8-sig") -> Path:
    """Write rows as CSV (UTF-8 with BOM by default, as Excel likes it; "gb18030" for a Chinese Excel export)."""
    path = Path(path)
    headers = _headers(rows)
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=headers, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(rows: list[dict[str, Any]], path, *, date_cells: bool = True, sheet: str = "党员名册") -> Path:
    """Write rows as an XLSX sheet, header in row 1. ID numbers and phones stay text; with `date_cells`, full ISO
    dates in the date columns become real Excel date cells, as a typed-in sheet has them."""
    path = Path(path)
    headers = _headers(rows)
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(list(headers))
    for row in rows:
        cells = []
        for h in headers:
            value = row.get(h, "")
            if date_cells and h in DATE_HEADERS and isinstance(value, str) and len(value) == 10:
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    pass
            cells.append(value if value != "" else None)
        ws.append(cells)
    book.save(path)
    return path


def _headers(rows: list[dict[str, Any]]) -> list[str]:
    headers = list(HEADERS)
    for row in rows:
        for key in row:
            if key not in headers:
                headers.append(key)
    return headers


__all__ = ["HEADERS", "BAD_KINDS", "SampleRoster", "generate_roster", "generate_sample", "write_csv",
           "write_xlsx"]
