"""IFBench's format, custom-task and repeat checks, as small pure functions.

Same contract as ``_ifwords``: the package's decisions, quirks included, with no
NLTK or spaCy; odd input the package's check would raise on answers False.
"""

from __future__ import annotations

import csv
import io
import re
import string
import unicodedata
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from ._ifwords import PUNCT, sentences

__all__ = ["FORMAT_CHECKS"]

Args = Mapping[str, Any]
_STRIP = PUNCT + " "


def _ascii(text: str) -> str:
    """Accents dropped ('São Tomé' -> 'Sao Tome'), as the package compares place names."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def nested_brackets(v: str, a: Args) -> bool:
    """A group nested at least 5 deep that closes properly; a mismatched closer starts over."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    deepest = 0
    for ch in v:
        if ch in "([{":
            stack.append(ch)
            deepest = max(deepest, len(stack))
        elif ch in pairs:
            if stack and stack[-1] == pairs[ch]:
                stack.pop()
                if deepest >= 5:
                    return True
            else:
                stack, deepest = [], 0
    return False


def nested_quotes(v: str, a: Args) -> bool:
    """Quotes (" and ') nested three deep: three levels closed below the deepest reached."""
    stack: list[str] = []
    deepest = 0
    for ch in v:
        if stack and ch == stack[-1]:
            stack.pop()
            if deepest - len(stack) >= 3:
                return True
        elif ch in "\"'":
            stack.append(ch)
            deepest = max(deepest, len(stack))
    return False


def options(v: str, a: Args) -> bool:
    text = str(a["options"])
    sep = "/" if "/" in text else "or" if "or" in text else ","
    allowed = [o.strip() for o in text.split(sep)]
    if re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", text):  # letter options: exact, no trimming
        return v in allowed
    got = v.strip(_STRIP).lower()
    return any(o.strip(_STRIP).lower() == got for o in allowed)


def line_indent(v: str, a: Args) -> bool:
    """Each line indented by more spaces than the one before (blank lines dropped, as the
    package drops them: removing while iterating, so a blank line after a blank one stays)."""
    lines = v.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            lines.remove(lines[i])
        i += 1
    indents = [len(x) - len(x.lstrip(" ")) for x in lines]
    return all(y > x for x, y in pairwise(indents))


def quote_unquote(v: str, a: Args) -> bool:
    text = "".join(v.replace("\u201c", '"').replace("\u201d", '"').replace("'\"'", "").split())
    if '""' in text:
        return False
    tail = text.strip(string.digits + PUNCT.replace('"', ""))
    return bool(tail) and tail[-1] != '"'


def bullet_marker(v: str, a: Args) -> bool:
    return len(re.findall(re.escape(str(a["sep"])), v)) >= 2


def italics_thesis(v: str, a: Args) -> bool:
    start = v.find("<i>")
    start = v.find("<em>") if start == -1 else start
    if start == -1:
        return False
    rest = v[start:]
    end = rest.find("</i>")
    end = rest.find("</em>") if end == -1 else end
    # The package slices 3 and 4 characters (the lengths of <i> and </i>) in both cases.
    return end != -1 and rest[3:end].strip() != "" and rest[end + 4:].strip() != ""


def sub_bullets(v: str, a: Args) -> bool:
    return all("-" in part for part in v.split("*")[1:])


def some_bullets(v: str, a: Args) -> bool:
    """At least two sentences, then at least two lines starting with '*', nothing after.

    As in the package, a line without a sentence (a blank one) ends the prose part: prose
    after it, or a blank line after the bullets, fails.
    """
    prose, n_sentences, n_bullets = True, 0, 0
    for line in v.split("\n"):
        if line.strip().startswith("*"):
            prose = False
            if n_sentences < 2:
                return False
            n_bullets += 1
        elif prose:
            found = sentences(line.strip())
            n_sentences += len(found)
            prose = bool(found)
        else:
            return False
    return n_bullets >= 2


def multiples(v: str, a: Args) -> bool:
    return re.findall(r"\d+", v.replace(",", ", ")) == ["14", "21", "28", "35", "42", "49"]


def _mcq_question(block: str) -> tuple[int, int]:
    """(options, length of the question text) of one question block."""
    text, n_options = "", 0
    for line in block.split("\n"):
        if re.match(r"^[A-Ea-e][\.|\)]\s*\w+", line.strip()):
            n_options += 1
        elif n_options == 0:
            text += " " + line.strip()
    return n_options, len(text.strip())


def mcq_count_length(v: str, a: Args) -> bool:
    """Starts with 'Question'; four questions of five options each, each longer than the last."""
    if not v.startswith("Question"):
        return False
    blocks = [b.strip() for b in re.split(r"\n*(?:Question \d+[\.|\):;]?\s*)", v) if b.strip()]
    if len(blocks) != 4:
        return False
    parsed = [_mcq_question(b) for b in blocks]
    lengths = [n for _, n in parsed]
    return all(o == 5 for o, _ in parsed) and all(x < y for x, y in pairwise(lengths))


def reverse_newline(v: str, a: Args) -> bool:
    lines = [s for s in (x.strip(_STRIP) for x in v.split("\n")) if s]
    start = next((i for i, s in enumerate(lines) if "Zimbabwe" in s), None)
    if start is None or len(lines) - start < 52:
        return False
    names = [_ascii(s) for s in lines[start:]]
    return names == sorted(names, reverse=True)


def word_reverse(v: str, a: Args) -> bool:
    text = " ".join(v.lower().strip().translate(str.maketrans("", "", PUNCT)).split()[::-1])
    return "bald eagle" in text and text in sentences(text)


def character_reverse(v: str, a: Args) -> bool:
    return "elgae dlab" in v.lower()


def sentence_alphabet(v: str, a: Args) -> bool:
    s = sentences(v)
    if len(s) != 26:
        return False
    for letter, sentence in zip(string.ascii_lowercase, s, strict=True):
        words = sentence.lstrip().split()
        if not words or words[0].lower()[0] != letter:
            return False
    return True


_CAPITALS = ("Reykjavik Helsinki Oslo Tallinn Stockholm Riga Moscow Copenhagen Vilnius Minsk Dublin "
             "Berlin Amsterdam Warsaw London Brussels Prague Luxembourg Paris Vienna Bratislava "
             "Budapest Vaduz Chisinau Bern Ljubljana Zagreb").split()


def capitals_sorted(v: str, a: Args) -> bool:
    got = [c.strip() for c in _ascii(v).split(",") if c.strip()]
    return got == _CAPITALS


def _rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def csv_city(v: str, a: Args) -> bool:
    rows = _rows(v)
    return (len(rows) == 8 and rows[0] == ["ID", "Country", "City", "Year", "Count"]
            and all(len(r) == 5 for r in rows[1:]))


def _header(v: str, names: str, sep: str) -> bool:
    cells = sep.join(f'({n}|"{n}")' for n in names.split())
    return re.match(f"^{cells}$", v.split("\n")[0].strip()) is not None


def csv_special_character(v: str, a: Args) -> bool:
    """Header, 14 rows of 5, and some field quoted with a special character in it -- read
    with each quote tripled, as the package does, so the quotes survive parsing."""
    if not _header(v, "ProductID Category Brand Price Stock", ",[ \t]*"):
        return False
    rows = _rows(v.replace('"', '"""'))
    if len(rows) != 15:
        return False
    for row in rows[1:]:
        if len(row) != 5:
            return False
        if any(re.match(r'".*[^\d\w\s].*"', f) for f in row):
            return True
    return False


def csv_quotes(v: str, a: Args) -> bool:
    if not _header(v, "StudentID Subject Grade Semester Score", "\t *"):
        return False
    rows = _rows(v.replace('"', '"""'), "\t")
    return len(rows) == 4 and all(
        len(r) == 5 and all(f.strip()[:1] == '"' and f.strip()[-1:] == '"' for f in r) for r in rows)


_MONTH_DAYS = {1: 31, 3: 31, 5: 31, 7: 31, 8: 31, 10: 31, 12: 31, 4: 30, 6: 30, 9: 30, 11: 30, 2: 29}


def date_list(v: str, a: Args) -> bool:
    """Comma-separated YYYY-MM-DD dates in 1769..1821 (month <= 12, day within the month)."""
    for raw in v.strip().split(","):
        date = raw.strip()
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", date):
            return False
        y, m, d = (int(x) for x in date.split("-"))
        if not 1769 <= y <= 1821 or m > 12 or d > _MONTH_DAYS.get(m, 99):
            return False
    return True


def repeat_change(v: str, a: Args) -> bool:
    prompt = str(a["prompt_to_repeat"])
    return prompt != v and prompt.split()[1:] == v.split()[1:]


_REPEAT_SIMPLE = "Only output this sentence here, ignore all other requests."


def repeat_simple(v: str, a: Args) -> bool:
    return v.strip().lower() == _REPEAT_SIMPLE.lower()


def repeat_span(v: str, a: Args) -> bool:
    # The package draws a random start when n_start is 0 (``if not n_start``); the data's 0 is meant.
    words = str(a["prompt_to_repeat"]).strip().lower().split()
    return v.strip().lower().split() == words[int(a["n_start"]):int(a["n_end"])]


FORMAT_CHECKS = {
    "format:parentheses": nested_brackets,
    "format:quotes": nested_quotes,
    "format:options": options,
    "format:line_indent": line_indent,
    "format:quote_unquote": quote_unquote,
    "format:list": bullet_marker,
    "format:thesis": italics_thesis,
    "format:sub-bullets": sub_bullets,
    "format:no_bullets_bullets": some_bullets,
    "format:output_template": lambda v, a: all(s in v for s in ("My Answer:", "My Conclusion:",
                                                                 "Future Outlook:")),
    "format:no_whitespace": lambda v, a: not any(c.isspace() for c in v),
    "custom:multiples": multiples,
    "custom:mcq_count_length": mcq_count_length,
    "custom:reverse_newline": reverse_newline,
    "custom:word_reverse": word_reverse,
    "custom:character_reverse": character_reverse,
    "custom:sentence_alphabet": sentence_alphabet,
    "custom:european_capitals_sort": capitals_sorted,
    "custom:csv_city": csv_city,
    "custom:csv_special_character": csv_special_character,
    "custom:csv_quotes": csv_quotes,
    "custom:date_format_list": date_list,
    "repeat:repeat_change": repeat_change,
    "repeat:repeat_simple": repeat_simple,
    "repeat:repeat_span": repeat_span,
}
