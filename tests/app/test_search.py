"""Search by text or pinyin initials, and pinyin order."""

from __future__ import annotations

from app.search import matches, sort_key


def test_a_clerk_finds_a_name_by_characters_initials_or_full_pinyin():
    assert matches("张桂", "张桂生")
    assert matches("zgs", "张桂生")
    assert matches("zhangguisheng", "张桂生")
    assert not matches("wgs", "张桂生")


def test_every_word_must_match_some_field():
    assert matches("smz 耕地", "石门镇", "2026年耕地地力保护补贴")
    assert not matches("smz 草原", "石门镇", "2026年耕地地力保护补贴")
    assert matches("", "anything")


def test_names_sort_by_pinyin():
    assert sorted(["张三", "安宁", "李四"], key=sort_key) == ["安宁", "李四", "张三"]
