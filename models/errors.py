"""Refusals: a step out of order, by the wrong level, or with missing data is refused with the rule it breaks."""
from __future__ import annotations


class Refusal(Exception):
    """A user action the rules do not allow.

    `code` is a stable English identifier for programs; `message` is the Chinese sentence a person reads; `rule` cites
    where the rule comes from (a seed section or a DECISION of DOMAIN.md)."""

    def __init__(self, code: str, message: str, rule: str = "", **details: object):
        self.code = code
        self.message = message
        self.rule = rule
        self.details = details
        super().__init__(f"{code}: {message}" + (f"（依据：{rule}）" if rule else ""))

    @property
    def text(self) -> str:
        """The full sentence for a person: the message and, where there is one, the rule it rests on."""
        return self.message + (f"（依据：{rule_label(self.rule)}）" if self.rule else "")

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.text, "rule": self.rule, **self.details}


class NotFound(Refusal):
    def __init__(self, what: str, key: object):
        super().__init__("not_found", f"未找到{what}：{key}", what=what, key=str(key))


class ConcurrentEdit(Refusal):
    def __init__(self, what: str = "案件"):
        super().__init__("concurrent_edit", f"{what}已被他人同时修改，请刷新后重试")


# The documents the rules rest on, as a person cites them.
SOURCES = {
    "000": "内蒙古自治区党委组织部《关于做好失联党员规范管理和组织处置有关工作的通知》",
    "001": "《党员组织关系排查有关问题说明》",
    "002": "陕西省《防止党员“失联”十条措施》及附件",
    "003": "《失联党员管理及处置流程图》",
    "004": "《党员组织关系集中排查操作规程》",
    "DOMAIN": "本系统规则说明（DOMAIN.md）",
}


def rule_label(rule: str) -> str:
    """'003 #5' -> the document's title and the section."""
    source, _, section = rule.partition(" ")
    title = SOURCES.get(source)
    return f"{title} {section}".strip() if title else rule
