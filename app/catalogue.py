"""Shipped defaults of the 公开事项标准目录: notice types with posting rules and roster schemas.

Sources are in DOMAIN.md (§1 contents, §2 periods, §5 catalogue columns, §6 hotlines). Counties
override any of these through sync; a township never edits them.

A roster schema is a list of columns. Core keys map to roster-row fields (``group``, ``name``,
``id_number``, ``quantity``, ``rate``, ``amount``, ``bank_account``, ``phone``, ``remark``);
any other key is stored in the row's ``extra``. ``public`` marks what the public view may show;
personal fields are never public whatever a schema says (see app.public_view). A column with
``part_of: "amount"`` is one part of the amount (土地补偿费 of a compensation total): its value is
kept as exact 元 text ("16000.00") and the parts of a row must add up to its amount.
"""

from __future__ import annotations

from typing import Any

CORE_KEYS = ("group", "name", "id_number", "quantity", "rate", "amount", "bank_account", "phone", "remark")


def col(key: str, label: str, kind: str = "text", *, public: bool = True, unit: str = "",
        required: bool = False, part_of: str = "") -> dict[str, Any]:
    column = {"key": key, "label": label, "kind": kind, "public": public, "unit": unit, "required": required}
    if part_of:
        column["part_of"] = part_of
    return column


# The parts of a per-household compensation (土地管理法 第四十八条: 土地补偿费、安置补助费 and
# 农村村民住宅、其他地上附着物和青苗等的补偿费用), printed beside the amount, which is their total.
COMPENSATION_PARTS = [
    col("x_land_fee", "土地补偿费（元）", unit="元", part_of="amount"),
    col("x_resettlement_fee", "安置补助费（元）", unit="元", part_of="amount"),
    col("x_crop_fee", "青苗及地上附着物补偿费（元）", unit="元", part_of="amount"),
]


def _person_roster(quantity_label: str, rate_label: str, amount_label: str, unit: str = "亩") -> list[dict]:
    return [
        col("group", "村民小组", "group"),
        col("name", "户主姓名", "name", required=True),
        col("id_number", "身份证号码", "id_number", public=False, required=True),
        col("quantity", quantity_label, "quantity", unit=unit, required=True),
        col("rate", rate_label, "rate", unit=f"元/{unit}"),
        col("amount", amount_label, "money", unit="元", required=True),
        col("bank_account", "一卡通账号", "bank_account", public=False),
        col("phone", "联系电话", "phone", public=False),
        col("remark", "备注"),
    ]


def _with_parts(roster: list[dict]) -> list[dict]:
    """The roster with the compensation parts just before the amount."""
    at = next(i for i, c in enumerate(roster) if c["key"] == "amount")
    return [*roster[:at], *COMPENSATION_PARTS, *roster[at:]]


SUBSIDY_OBJECTION = (
    "公示期内，如对公示内容有异议，请以来电、来访或书面形式向{issuer}反映，"
    "提倡实名反映，以便调查核实。"
)

DEFAULT_NOTICE_TYPES: list[dict[str, Any]] = [
    {
        "code": "subsidy_payout",
        "name": "惠农补贴发放情况公示",
        "category": "subsidy",
        "level1": "涉农补贴",
        "level2": "耕地地力保护补贴",
        "content_elements": ["补贴对象", "补贴面积", "补贴标准", "补贴金额", "监督渠道（举报电话、地址）"],
        "legal_basis": "《中华人民共和国政府信息公开条例》（国务院令第711号）；《农业相关转移支付资金管理办法》",
        "time_limit": "信息形成或者变更之日起20个工作日内",
        "publishing_body": "乡镇人民政府、行政村村民委员会",
        "channels": ["村公示栏", "乡镇公示栏"],
        "audience": "全社会",
        "level": "村",
        "min_days": 7,
        "day_unit": "natural",
        "roster_schema": _person_roster("补贴面积（亩）", "补贴标准（元/亩）", "补贴金额（元）"),
        "title_template": "关于{village}{program}发放情况的公示",
        "body_template": (
            "根据{legal_basis}的规定，经农户申报、村组核实、乡镇审核，现将{village}"
            "{program}发放情况予以公示。本次公示共{households}户，补贴面积合计{quantity}亩，"
            "补贴标准{rate}元/亩，补贴金额合计{amount}元（大写：{amount_words}）。"
        ),
        "objection_clause": SUBSIDY_OBJECTION,
        "supervision_phone": "12345",
    },
    {
        "code": "poverty_household",
        "name": "衔接资金到户项目公示",
        "category": "poverty_fund",
        "level1": "扶贫资金",
        "level2": "财政衔接推进乡村振兴补助资金（到户）",
        "content_elements": ["扶持对象", "扶持内容", "补助标准", "补助金额", "监督渠道"],
        "legal_basis": "《关于完善扶贫资金项目公告公示制度的指导意见》（国开办发〔2018〕1号）",
        "time_limit": "信息形成或者变更之日起20个工作日内",
        "publishing_body": "乡镇人民政府、行政村村民委员会",
        "channels": ["村公示栏", "乡镇公示栏"],
        "audience": "全社会",
        "level": "村",
        "min_days": 10,
        "day_unit": "natural",
        "roster_schema": [
            col("group", "村民小组", "group"),
            col("name", "户主姓名", "name", required=True),
            col("id_number", "身份证号码", "id_number", public=False, required=True),
            col("x_item", "扶持内容"),
            col("quantity", "数量", "quantity", unit="人"),
            col("rate", "补助标准（元）", "rate", unit="元/人"),
            col("amount", "补助金额（元）", "money", unit="元", required=True),
            col("bank_account", "一卡通账号", "bank_account", public=False),
            col("phone", "联系电话", "phone", public=False),
            col("remark", "备注"),
        ],
        "title_template": "{village}{program}到户资金公示",
        "body_template": (
            "根据{legal_basis}，按照“谁分配、谁使用、谁公开”的原则，现将{village}{program}"
            "到户资金安排情况予以公示。本次共{households}户，资金合计{amount}元（大写：{amount_words}）。"
        ),
        "objection_clause": SUBSIDY_OBJECTION,
        "supervision_phone": "12317",
    },
    {
        "code": "poverty_project",
        "name": "衔接资金项目公告公示",
        "category": "poverty_fund",
        "level1": "扶贫资金",
        "level2": "财政衔接推进乡村振兴补助资金项目",
        "content_elements": [
            "项目名称", "实施地点", "建设任务", "补助标准", "资金来源及规模", "实施期限",
            "实施单位及责任人", "绩效目标", "带贫减贫机制",
        ],
        "legal_basis": "《关于完善扶贫资金项目公告公示制度的指导意见》（国开办发〔2018〕1号）",
        "time_limit": "信息形成或者变更之日起20个工作日内",
        "publishing_body": "乡镇人民政府",
        "channels": ["乡镇公示栏", "村公示栏", "项目实施地"],
        "audience": "全社会",
        "level": "乡",
        "min_days": 10,
        "day_unit": "natural",
        "roster_schema": [
            col("name", "项目名称", "text", required=True),
            col("x_location", "实施地点"),
            col("x_content", "建设内容及规模"),
            col("x_period", "实施期限"),
            col("x_implementer", "实施单位及责任人"),
            col("x_benefit", "绩效目标及带贫减贫机制"),
            col("amount", "资金规模（元）", "money", unit="元", required=True),
            col("remark", "备注"),
        ],
        "title_template": "{township}{program}项目公告公示",
        "body_template": (
            "根据{legal_basis}，现将{township}{program}项目安排情况公告公示如下，"
            "共{households}个项目，资金合计{amount}元（大写：{amount_words}）。"
        ),
        "objection_clause": SUBSIDY_OBJECTION,
        "supervision_phone": "12317",
    },
    {
        "code": "land_preannouncement",
        "name": "征收土地预公告",
        "category": "land",
        "level1": "重大建设项目",
        "level2": "征收土地信息",
        "content_elements": ["征收范围", "征收目的", "土地现状调查安排"],
        "legal_basis": "《中华人民共和国土地管理法实施条例》第二十六条",
        "time_limit": "拟申请征收土地前",
        "publishing_body": "县级人民政府",
        "channels": ["乡镇公示栏", "村公示栏", "村民小组"],
        "audience": "拟征收土地所在地的村集体经济组织成员",
        "level": "县",
        "min_days": 10,
        "day_unit": "working",
        "roster_schema": [
            col("group", "村民小组", "group", required=True),
            col("x_land_class", "地类"),
            col("quantity", "拟征收面积（亩）", "quantity", unit="亩", required=True),
            col("remark", "备注"),
        ],
        "title_template": "{issuer}征收土地预公告",
        "body_template": (
            "为了公共利益的需要，拟征收{village}集体土地，现将有关事项预公告如下。"
            "自本公告发布之日起，任何单位和个人不得在拟征收范围内抢栽抢建；违反规定抢栽抢建的，"
            "对抢栽抢建部分不予补偿。拟征收面积合计{quantity}亩。"
        ),
        "objection_clause": "如有疑问，请在公告期内向{issuer}咨询。",
        "supervision_phone": "12345",
    },
    {
        "code": "land_compensation_plan",
        "name": "征地补偿安置方案公告",
        "category": "land",
        "level1": "重大建设项目",
        "level2": "征收土地信息",
        "content_elements": [
            "征收范围", "土地现状", "征收目的", "补偿方式和标准", "安置对象", "安置方式", "社会保障",
            "办理补偿登记的方式和时限", "异议反馈渠道",
        ],
        "legal_basis": "《中华人民共和国土地管理法》第四十七条、第四十八条；《中华人民共和国土地管理法实施条例》第二十七条、第二十八条",
        "time_limit": "拟申请征收土地前",
        "publishing_body": "县级人民政府",
        "channels": ["乡镇公示栏", "村公示栏", "村民小组", "县政府网站"],
        "audience": "拟征收土地所在地的村集体经济组织成员",
        "level": "县",
        "min_days": 30,
        "day_unit": "natural",
        "roster_schema": [
            col("group", "被征地村民小组", "group", required=True),
            col("x_land_class", "地类"),
            col("quantity", "面积（亩）", "quantity", unit="亩", required=True),
            col("rate", "补偿标准（元/亩）", "rate", unit="元/亩"),
            col("amount", "补偿费用（元）", "money", unit="元", required=True),
            col("remark", "备注"),
        ],
        "title_template": "{issuer}征地补偿安置方案公告",
        "body_template": (
            "根据{legal_basis}的规定，现将{village}征地补偿安置方案公告如下。本次拟征收土地"
            "{quantity}亩，补偿费用合计{amount}元（大写：{amount_words}）。青苗和地上附着物补偿费"
            "另行统计并发放给户主。"
        ),
        "objection_clause": (
            "被征地的农村集体经济组织及其成员对本方案有异议的，应在本公告发布之日起三十日内以书面形式"
            "向{issuer}提出；过半数成员认为方案不符合法律、法规规定的，将依法组织听证。"
        ),
        "supervision_phone": "12345",
    },
    {
        "code": "land_household",
        "name": "征地补偿费分配到户公示",
        "category": "land",
        "level1": "村务公开",
        "level2": "土地征用补偿及分配",
        "content_elements": ["分配对象", "面积", "补偿标准", "补偿金额"],
        "legal_basis": "《中华人民共和国村民委员会组织法》第三十条",
        "time_limit": "随时公布",
        "publishing_body": "行政村村民委员会",
        "channels": ["村公示栏", "村民小组"],
        "audience": "本村村民",
        "level": "村",
        "min_days": 7,
        "day_unit": "natural",
        "roster_schema": _with_parts(_person_roster("征收面积（亩）", "补偿标准（元/亩）", "补偿金额（元）")),
        "title_template": "{village}{program}征地补偿费分配到户公示",
        "body_template": (
            "经村民代表会议讨论通过，现将{program}征地补偿费分配到户情况公示如下。本次共{households}户，"
            "面积合计{quantity}亩，金额合计{amount}元（大写：{amount_words}）。"
        ),
        "objection_clause": SUBSIDY_OBJECTION,
        "supervision_phone": "12345",
    },
    {
        "code": "village_finance",
        "name": "村级财务收支公开",
        "category": "village_affairs",
        "level1": "村务公开",
        "level2": "财务收支",
        "content_elements": ["收入明细", "支出明细", "结余"],
        "legal_basis": "《中华人民共和国村民委员会组织法》第三十条",
        "time_limit": "每月公布",
        "publishing_body": "行政村村民委员会",
        "channels": ["村公示栏"],
        "audience": "本村村民",
        "level": "村",
        "min_days": 7,
        "day_unit": "natural",
        "cadence": "monthly",
        "roster_schema": [
            col("name", "收支项目", "text", required=True),
            col("x_kind", "收入/支出"),
            col("amount", "金额（元）", "money", unit="元", required=True),
            col("remark", "备注"),
        ],
        "title_template": "{village}{year}年{month}月财务收支公开",
        "body_template": "现将{village}本期财务收支情况公开如下，请村民监督。",
        "objection_clause": "如有疑问，请向村务监督委员会反映，村两委将在一周内予以答复。",
        "supervision_phone": "12345",
    },
    {
        "code": "village_affairs",
        "name": "村务公开（季度）",
        "category": "village_affairs",
        "level1": "村务公开",
        "level2": "一般村务事项",
        "content_elements": ["村民会议、村民代表会议决定事项及实施情况", "救灾、补助等款物管理使用", "其他涉及村民利益的事项"],
        "legal_basis": "《中华人民共和国村民委员会组织法》第三十条",
        "time_limit": "每季度至少公布一次",
        "publishing_body": "行政村村民委员会",
        "channels": ["村公示栏"],
        "audience": "本村村民",
        "level": "村",
        "min_days": 7,
        "day_unit": "natural",
        "cadence": "quarterly",
        "roster_schema": [
            col("name", "事项", "text", required=True),
            col("x_detail", "内容"),
            col("amount", "金额（元）", "money", unit="元"),
            col("remark", "备注"),
        ],
        "title_template": "{village}{year}年第{quarter}季度村务公开",
        "body_template": "现将{village}本季度村务事项公开如下，请村民监督。",
        "objection_clause": "如有疑问，请向村务监督委员会反映，村两委将在一周内予以答复。",
        "supervision_phone": "12345",
    },
]
