"""The entrance's forbidden-character regexes agree with Python's Unicode tables for every code point."""
from __future__ import annotations

import unicodedata

from models.text import _FORBIDDEN_LINE, _FORBIDDEN_MULTILINE


def test_the_forbidden_characters_are_exactly_control_surrogate_format_and_line_separators():
    wrong = []
    for cp in range(0x110000):
        ch = chr(cp)
        category = unicodedata.category(ch)
        line = (category in ("Cc", "Cs", "Cf") or ch in "\u2028\u2029") and ch != "\t"
        multiline = line and ch != "\n"
        if bool(_FORBIDDEN_LINE.match(ch)) != line or bool(_FORBIDDEN_MULTILINE.match(ch)) != multiline:
            wrong.append(f"U+{cp:04X}")
    assert wrong == []
