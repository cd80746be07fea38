import pytest

from models.codes import Occupation, Situation, parse_code
from models.errors import Refusal, rule_label


@pytest.mark.parametrize("text", ["3", "3.0", "③", "③农村外出务工经商人员", "农村外出务工经商人员", " 3 "])
def test_codes_as_rosters_give_them(text):
    assert parse_code(Occupation, text) is Occupation.RURAL_MIGRANT


@pytest.mark.parametrize("text,says", [("1.0.0", "不是有效代码"), ("9", "应为1-8"), ("③高校毕业生", "代码与文字不符"),
                                       ("", "为空"), ("外星", "不是有效代码")])
def test_bad_codes_say_why(text, says):
    with pytest.raises(ValueError, match=says):
        parse_code(Occupation, text)


def test_circled_display_and_rule_citation():
    assert Situation.ABROAD.display == "⑤出国（境）"
    assert rule_label("003 #5") == "《失联党员管理及处置流程图》 #5"
    assert Refusal("x", "不行", "000 §3").text.endswith("（依据：内蒙古自治区党委组织部《关于做好失联党员规范管理和组织处置有关工作的通知》 §3）")
