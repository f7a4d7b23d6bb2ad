"""Every reason a page or a row can be given is told to the clerk in Chinese and in English."""

from __future__ import annotations

import re

import pytest

from pipeline.common.messages import LANGS, PAGE_TEXT, Lang, page_reason, row_reason
from pipeline.common.reasons import PageReason, RowWhy, Why

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("code", list(Why))
def test_every_page_reason_has_words_in_both_languages(code: Why) -> None:
    assert code in PAGE_TEXT, f"{code} has no words for the clerk"
    zh, en = PAGE_TEXT[code]
    assert zh and en and not CJK.search(en), (zh, en)
    assert CJK.search(zh) or zh == "{text}", zh  # a legacy reason is the old words as they were


@pytest.mark.parametrize("code", list(RowWhy))
@pytest.mark.parametrize("lang", LANGS)
def test_every_row_reason_reads_in_both_languages(code: RowWhy, lang: Lang) -> None:
    said = row_reason(code, lang)
    assert said and bool(CJK.search(said)) == (lang == "zh"), said


def test_a_sheet_too_small_says_how_small_and_what_to_do() -> None:
    reason = PageReason.of(Why.SHEET_TOO_SMALL, dpi=72)
    assert "72 dpi" in page_reason(reason) and "靠近重拍" in page_reason(reason)
    assert "72 dpi" in page_reason(reason, "en") and "closer" in page_reason(reason, "en")
