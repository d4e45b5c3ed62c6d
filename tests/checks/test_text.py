"""Foreign-script and special-token checks on generated text."""

from __future__ import annotations

import pytest

from parity.checks.text import (
    FOREIGN_SCRIPT,
    SPECIAL_TOKEN,
    check_foreign_script,
    check_special_tokens,
    script_of,
    scripts_in,
    text_change,
)


def test_scripts_of_letters_only() -> None:
    assert script_of("a") == "LATIN" and script_of("é") == "LATIN"
    assert script_of("ก") == "THAI" and script_of("中") == "CJK" and script_of("ひ") == "JAPANESE"
    assert script_of("7") is None and script_of("!") is None and script_of("🙂") is None
    assert scripts_in("Hi 東京") == {"LATIN": 2, "CJK": 2}


def test_thai_in_an_english_answer_is_flagged() -> None:
    found = check_foreign_script("The weather is สวัสดีครับ sunny.", "What is the weather?")
    assert [f.check for f in found] == [FOREIGN_SCRIPT]
    assert found[0].detail["scripts"] == ["THAI"] and found[0].detail["foreign"] == 7  # vowel marks are not letters


def test_scripts_the_prompt_uses_are_not_foreign() -> None:
    assert check_foreign_script("東京は晴れです。Sunny.", "東京の天気は？") == []
    assert check_foreign_script("Привет, мир", "Скажи привет") == []


def test_a_single_stray_letter_and_accents_are_tolerated() -> None:
    assert check_foreign_script("The area is π r squared, café style.", "Area of a circle?") == []


def test_special_tokens_found_once_each() -> None:
    found = check_special_tokens("Hello<|im_end|> again <|im_end|></s>")
    assert [f.detail["token"] for f in found] == ["<|im_end|>", "</s>"]
    assert all(f.check == SPECIAL_TOKEN for f in found)
    assert check_special_tokens("a | b, x < y > z, [link](url)") == []
    assert [f.detail["token"] for f in check_special_tokens("<｜end▁of▁sentence｜>")] == ["<｜end▁of▁sentence｜>"]


@pytest.mark.parametrize(("a", "b", "kind", "at"), [
    ("the sea is salty", "the sea is salty", "same", 16),
    ("the sea is salty because", "the sea salty because", "lost", 8),
    ("the sea is salty", "the sea is is salty", "extra", 11),
    ("the sea is salty", "the sea was blue", "diverged", 8),
    ("the sea is salty.", "the sea is salty. It is", "longer", 17),  # one stopped earlier
    ("the sea is salty. It is", "the sea is salty.", "shorter", 17),
    ("", "anything", "longer", 0),
    ("the sea is salty", "the sky is blue", "diverged", 5),
])
def test_text_change_tells_lost_and_repeated_text_from_divergence(a: str, b: str, kind: str, at: int) -> None:
    change = text_change(a, b)
    assert (change.kind, change.at) == (kind, at)
    assert change.describe()
