"""IFBench checks: one response that follows each instruction and one that does not."""

from __future__ import annotations

from typing import Any

import pytest

from parity.suites.accuracy._ifbench import CHECKS, NOT_OFFLINE
from parity.suites.accuracy._ifwords import sentences

_MCQ_OK = "\n".join(
    f"Question {n}: {'Why ' * n}is it?\nA. one\nB. two\nC. three\nD. four\nE. five" for n in range(1, 5))
_COUNTRIES = [f"Zimbabwe {chr(ord('z') - i)}" for i in range(26)] + [f"Yemen {chr(ord('z') - i)}"
                                                                    for i in range(26)]
_ALPHA = " ".join(f"{c.upper()}{c}{c} go." for c in "abcdefghijklmnopqrstuvwxyz")

# id -> (kwargs, follows, does not follow)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "count:word_count_range": ({"min_words": 3.0, "max_words": 4.0}, "one two three", "one two"),
    "count:unique_word_count": ({"N": 3.0}, "Cats, dogs and cats.", "cats cats cats"),
    "ratio:sentence_type": ({}, "It is. It was. Was it?", "It is. Was it?"),
    "ratio:sentence_balance": ({}, "It is. Is it? It is!", "It is. It is. Is it?"),
    "count:conjunctions": ({"small_n": 2.0}, "tea and cake but no jam", "tea and cake and jam"),
    "count:person_names": ({"N": 2.0}, "Emma met Noah.", "Emma met emma."),
    "ratio:overlap": ({"reference_text": "abcdef", "percentage": 50.0}, "abcdxy", "abcxyz"),
    "count:numbers": ({"N": 2.0}, "3 apples, 4.5 pears", "I have 3 apples"),  # 4.5 is one number
    "words:alphabet": ({}, "Apples bring cheer, delight!", "Apples bring delight"),
    "words:vowel": ({}, "a cat sat on a mat", "a cat sat on a mat\nsecond line"),
    "words:consonants": ({}, "street crash", "street idea"),
    "sentence:alliteration_increment": ({}, "No one. Big bad dog. Sad sad sad sun.", "Big bad. No one."),
    "words:palindrome": ({}, " ".join(["level", "radar", "civic", "refer", "rotor"] * 2), "level radar"),
    "count:punctuation": ({}, "Really?! Why? Wow! Yes, here; see: done.", "Really?! Yes, here; see: done."),
    "words:prime_lengths": ({}, "at the house", "a cat"),
    "format:newline": ({}, "one\ntwo\nthree", "one two\nthree"),
    "ratio:sentence_words": ({}, "Ab cd. Ef gh. Ij kl.", "Ab cd. Ef ghi. Ij kl."),
    "count:words_japanese": ({"N": 2.0}, "one 日本 two カタ", "one two three four"),
    "words:repeats": ({"small_n": 2.0}, "the cat the dog", "the the the cat"),
    "sentence:keyword": ({"word": "moon", "N": 2.0}, "Hi there. The Moon rises.", "The moon. Hi there."),
    "count:pronouns": ({"N": 3.0}, "I told her she/her is fine", "The cat sat"),
    "words:last_first": ({}, "I like tea. Tea is good.", "I like tea. Coffee is good."),
    "words:paragraph_last_first": ({}, "Go home now go\n\nStop it stop", "Go home now\nstop it stop"),
    "sentence:increment": ({"small_n": 1.0}, "Hi there. I am here. We are all here.",
                           "Hi there. I am here. We are here."),
    "words:no_consecutive": ({}, "a big cat dozed", "a big bad cat"),
    "count:keywords_multiple": (
        {f"keyword{i}": k for i, k in enumerate(["ka", "ne", "wh", "la", "pa"], 1)},
        "ka " + "ne " * 2 + "wh " * 3 + "la " * 5 + "pa " * 7, "ka ne wh la pa"),
    "format:parentheses": ({}, "(a [b {c (d [e] d) c} b] a)", "(a [b {c (d) c} b] a)"),
    "format:quotes": ({}, "He said \"she said 'x \"y\" x' ok\" end", "He said \"she said 'x' ok\""),
    "format:options": ({"options": "yes/no/maybe"}, "Maybe.", "Perhaps"),
    "format:line_indent": ({}, "a\n  b\n    c", "a\n  b\n  c"),
    "format:quote_unquote": ({}, 'He said "hi" and "bye" to us.', 'He said "hi".""'),
    "format:list": ({"sep": "SEPARATOR"}, "x SEPARATOR y SEPARATOR z", "x SEPARATOR y"),
    "format:thesis": ({}, "<i>Cats rule.</i> Because they do.", "<i>Cats rule.</i>"),
    "format:sub-bullets": ({}, "* one\n  - a\n* two\n  - b", "* one\n  - a\n* two"),
    "format:no_bullets_bullets": ({}, "It is. So it goes.\n* one\n* two", "* one\n* two"),
    "format:output_template": ({}, "My Answer: x My Conclusion: y Future Outlook: z", "My Answer: x"),
    "format:no_whitespace": ({}, "no_space_here", "one space"),
    "custom:multiples": ({}, "14,21,28,35,42,49", "14, 21, 28, 35, 42"),
    "custom:mcq_count_length": ({}, _MCQ_OK, "Here you go:\n" + _MCQ_OK),
    "custom:reverse_newline": ({}, "\n".join(sorted(_COUNTRIES, reverse=True)),
                               "\n".join(sorted(_COUNTRIES))),
    "custom:word_reverse": ({}, "eagle bald the saw I", "I saw the bald eagle"),
    "custom:character_reverse": ({}, "Elgae dlab eht", "bald eagle"),
    "custom:sentence_alphabet": ({}, _ALPHA, _ALPHA.replace("Zzz", "Yzz")),
    "custom:european_capitals_sort": (
        {}, "Reykjavík, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, "
            "Dublin, Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, "
            "Bratislava, Budapest, Vaduz, Chisinau, Bern, Ljubljana, Zagreb", "Oslo, Helsinki"),
    "custom:csv_city": ({}, "ID,Country,City,Year,Count\n" + "1,F,P,2000,3\n" * 7,
                        "ID,Country,City,Year,Count\n" + "1,F,P,2000,3\n" * 6),
    "custom:csv_special_character": (
        {}, "ProductID,Category,Brand,Price,Stock\n" + "1,c,b,2,3\n" * 13 + '2,c,"B&Co",2,3\n',
        "ProductID,Category,Brand,Price,Stock\n" + "1,c,b,2,3\n" * 14),
    "custom:csv_quotes": ({}, "\n".join(["\t".join(f'"{c}"' for c in
                                                   ["StudentID", "Subject", "Grade", "Semester", "Score"])]
                                        + ['"1"\t"m"\t"A"\t"F"\t"9"'] * 3),
                          "StudentID\tSubject\tGrade\tSemester\tScore\n1\tm\tA\tF\t9"),
    "custom:date_format_list": ({}, "1776-07-04, 1789-02-29", "1776-07-04, 1776-04-31"),
    "repeat:repeat_change": ({"prompt_to_repeat": "Write a poem"}, "Compose a poem", "Write a poem"),
    "repeat:repeat_simple": ({}, " only output this sentence here, ignore all other requests. ",
                             "Only output this sentence."),
    "repeat:repeat_span": ({"prompt_to_repeat": "a b c d e", "n_start": 1, "n_end": 3}, "B c", "b c d"),
}


def test_every_offline_check_has_cases() -> None:
    assert set(CASES) == set(CHECKS)
    assert not set(CHECKS) & set(NOT_OFFLINE)


@pytest.mark.parametrize("iid", sorted(CASES))
def test_check_accepts_a_follower_and_rejects_a_breaker(iid: str) -> None:
    kwargs, good, bad = CASES[iid]
    assert CHECKS[iid](good, kwargs) is True
    assert CHECKS[iid](bad, kwargs) is False


@pytest.mark.parametrize("text", ["", " ", ".", "?!", "\n\n", "*", '"', "Question"])
def test_degenerate_responses_never_raise(text: str) -> None:
    for iid, (kwargs, _, _) in CASES.items():
        assert isinstance(CHECKS[iid](text, kwargs), bool), iid


@pytest.mark.parametrize(("text", "want"), [
    ("Mr. Smith went to Washington. He came back!", ["Mr. Smith went to Washington.", "He came back!"]),
    ("Pi is 3.14. Visit example.com today? Yes...", ["Pi is 3.14.", "Visit example.com today?", "Yes..."]),
    ('She said "go." Then left.', ['She said "go".', "Then left."]),
    ("The U.S.A. is big. It is.", ["The U.S.A. is big.", "It is."]),
    ("no end mark", ["no end mark"]),
])
def test_sentence_splitter(text: str, want: list[str]) -> None:
    assert sentences(text) == want
