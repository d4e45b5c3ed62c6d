"""The sentinel's cases and its paired observations (pure: exchanges built by hand)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from parity.case import Case
from parity.exchange import Completion, Exchange, ExchangeStatus, ToolCall
from parity.watch import SentinelDesign, observe, observe_reference
from parity.watch._sentinel import LOGPROB_SCALE

DESIGN = SentinelDesign.make(3, canary=True, seed=1)


def _x(endpoint: str, case: Case, *, p: float | None = None, text: str = "a b c",
       call: str | None = None, ok: bool = True) -> Exchange:
    logprobs: dict[str, Any] | None = None
    if p is not None:
        top = [{"token": "A", "logprob": math.log(p)}, {"token": "B", "logprob": math.log(1 - p)}]
        logprobs = {"content": [{"token": "A", "logprob": math.log(p), "top_logprobs": top}]}
    calls = [ToolCall(name=call, arguments='{"city": "Paris"}')] if call else []
    return Exchange(status=ExchangeStatus.OK if ok else ExchangeStatus.TIMEOUT,
                    completion=Completion(content=text, logprobs=logprobs, tool_calls=calls) if ok else None,
                    run_id="t", endpoint=endpoint, suite="sentinel", case_id=case.id,
                    case_hash=case.hash, request=case.body)


def _tick(cand_p: float, ref_p: tuple[float, float] = (0.5, 0.5), cand_call: str | None = "f",
          ok: bool = True) -> list[Exchange]:
    out = []
    for draw, case in enumerate(DESIGN.cases("tick", "reference", 2)):
        d = draw // 4
        canary = case.id.startswith("canary")
        out.append(_x("ref", case, p=None if canary else ref_p[d], call="f" if canary else None))
    for case in DESIGN.cases("tick", "candidate", 1):
        canary = case.id.startswith("canary")
        out.append(_x("cand", case, p=None if canary else cand_p, call=cand_call if canary else None, ok=ok))
    return out


def test_cases_are_deterministic_distinct_and_counted() -> None:
    a = DESIGN.cases("tick", "reference", 2)
    assert [c.id for c in a] == [f"{p}#0" for p in DESIGN.prompts] + ["canary#0"] + \
        [f"{p}#1" for p in DESIGN.prompts] + ["canary#1"]
    assert a == DESIGN.cases("tick", "reference", 2)
    hashes = {c.hash for c in a + DESIGN.cases("tick", "candidate", 1) + DESIGN.cases("tock", "reference", 2)}
    assert len(hashes) == 3 * DESIGN.requests(2) // 2 + DESIGN.requests(2)
    assert DESIGN.requests(2) == 8
    assert all(c.body["logprobs"] and c.body["max_tokens"] == 8 for c in a if "canary" not in c.id)


def test_same_as_reference_observes_zero() -> None:
    assert observe(DESIGN, _tick(0.5), "ref", "cand") == [0.0, 0.0, 0.0, 0.0]


def test_a_moved_candidate_observes_positive_values() -> None:
    obs = observe(DESIGN, _tick(0.5 + LOGPROB_SCALE / 2, cand_call=None), "ref", "cand")
    assert obs[:3] == pytest.approx([0.5, 0.5, 0.5]) and obs[3] == 1.0


def test_reference_noise_counts_against_the_candidate_difference() -> None:
    obs = observe(DESIGN, _tick(0.5, ref_p=(0.5, 0.5 + LOGPROB_SCALE)), "ref", "cand")
    assert obs[:3] == [-1.0, -1.0, -1.0]


def test_failed_answers_give_no_observation() -> None:
    assert observe(DESIGN, _tick(0.5, ok=False), "ref", "cand") == []


def test_black_box_when_no_logprobs() -> None:
    design = SentinelDesign.make(2, canary=False)
    ex = [_x("ref", c, text="a b c d") for c in design.cases("t", "reference", 2)]
    ex += [_x("cand", c, text="a b x y") for c in design.cases("t", "candidate", 1)]
    assert observe(design, ex, "ref", "cand") == [2 / 7, 2 / 7]  # characters: 2 of 7 differ


def test_reference_against_its_own_past() -> None:
    design = SentinelDesign.make(2, canary=False)
    now = [_x("ref", c, p=0.5) for c in design.cases("now", "reference", 3)]
    same = [_x("ref", c, p=0.5) for c in design.cases("past", "reference", 3)]
    moved = [_x("ref", c, p=0.6) for c in design.cases("past", "reference", 3)]
    assert observe_reference(design, now, same, "ref") == [0.0, 0.0]
    assert observe_reference(design, now, moved, "ref") == [1.0, 1.0]
    assert observe_reference(design, now, [], "ref") == []


def test_blackbox_distance_is_a_named_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.watch import _sentinel

    def texts(answers: dict[str, str]) -> list[Exchange]:
        out = []
        for case in DESIGN.cases("tick", "reference", 2):
            out.append(_x("ref", case, text="same words", call="f" if "canary" in case.id else None))
        for case in DESIGN.cases("tick", "candidate", 1):
            out.append(_x("cand", case, text=answers.get("cand", "same words"),
                          call="f" if "canary" in case.id else None))
        return out

    # No logprobs: Hamming on characters. "same wordz" differs in 1 of 10 characters.
    assert observe(DESIGN, texts({"cand": "same wordz"}), "ref", "cand") == pytest.approx([0.1] * 3 + [0.0])
    monkeypatch.setitem(_sentinel.BLACKBOX_DISTANCES, "length", lambda a, b: abs(len(a.text) - len(b.text)) / 4)
    design = SentinelDesign(prompts=DESIGN.prompts, canary=True, seed=1, blackbox="length")
    assert observe(design, texts({"cand": "same wordz"}), "ref", "cand") == [0.0] * 4
    assert observe(design, texts({"cand": "same"}), "ref", "cand") == [1.0] * 3 + [0.0]  # clipped to 1
    with pytest.raises(ValueError, match="black-box distance"):
        SentinelDesign(prompts=DESIGN.prompts, blackbox="nope")


GREEDY_DESIGN = SentinelDesign.make(3, canary=True, seed=1, blackbox="greedy")


def _greedy_tick(ref: tuple[str, str], cand: str, ok: bool = True, cand_call: str | None = "f",
                 design: SentinelDesign = GREEDY_DESIGN) -> list[Exchange]:
    out = []
    for case in design.cases("tick", "reference", 2):
        canary = case.id.startswith("canary")
        out.append(_x("ref", case, text=ref[int(case.id[-1])], call="f" if canary else None))
    for case in design.cases("tick", "candidate", 1):
        canary = case.id.startswith("canary")
        out.append(_x("cand", case, text=cand, call=cand_call if canary else None, ok=ok))
    return out


def test_greedy_cases_are_the_equality_suites_greedy_rounds() -> None:
    from parity.suites.equality import PROMPTS, Sampling, sample_seed

    cases = GREEDY_DESIGN.cases("tick", "candidate", 1)
    text = dict(PROMPTS)
    for case in cases[:-1]:
        pid = case.id.rpartition("#")[0]
        seed = sample_seed(1, "tick/candidate", pid, 0)
        assert case.body == Sampling().greedy(32).body(text[pid], seed)
        assert case.body["temperature"] == 0.0 and "logprobs" not in case.body
    assert cases[-1].id == "canary#0" and cases[-1].body["tools"]
    assert GREEDY_DESIGN.requests(2) == DESIGN.requests(2) == 8  # same shape: 2 reference, 1 candidate
    assert GREEDY_DESIGN.greedy and not DESIGN.greedy


@pytest.mark.parametrize(("ref", "cand", "g"), [
    (("x y", "x y"), "x y", 0.0),    # all agree
    (("x y", "x y"), "x z", 1.0),    # the candidate alone differs
    (("x y", "x z"), "x y", -0.5),   # a reference answer alone differs
    (("x z", "x y"), "x y", -0.5),
    (("x a", "x b"), "x c", 0.0),    # all differ: no odd one
])
def test_greedy_observes_the_odd_one_out(ref: tuple[str, str], cand: str, g: float) -> None:
    assert observe(GREEDY_DESIGN, _greedy_tick(ref, cand), "ref", "cand") == pytest.approx([g, g, g, 0.0])


def test_greedy_compares_whole_texts_and_keeps_the_canary() -> None:
    # A one-character difference counts as a whole difference (no distance scale);
    # the canary is still judged by its call decision.
    assert observe(GREEDY_DESIGN, _greedy_tick(("abc", "abc"), "abd", cand_call=None), "ref", "cand") == \
        [1.0, 1.0, 1.0, 1.0]
    assert observe(GREEDY_DESIGN, _greedy_tick(("abc", "abc"), "abc", ok=False), "ref", "cand") == []


def test_greedy_reference_against_its_own_past() -> None:
    design = SentinelDesign.make(2, canary=False, blackbox="greedy")
    now = [_x("ref", c, text="same") for c in design.cases("now", "reference", 3)]
    same = [_x("ref", c, text="same") for c in design.cases("past", "reference", 3)]
    moved = [_x("ref", c, text="other") for c in design.cases("past", "reference", 3)]
    assert observe_reference(design, now, same, "ref") == [0.0, 0.0]
    assert observe_reference(design, now, moved, "ref") == [1.0, 1.0]


def test_greedy_g_has_mean_zero_for_exchangeable_answers() -> None:
    # Three i.i.d. answers from any distribution: E[g] = 0 exactly (enumerate all 27 triples).
    import itertools

    from parity.watch._sentinel import _odd_one_out

    dist = {"a": 0.5, "b": 0.3, "c": 0.2}
    cases = SentinelDesign.make(2, canary=False, blackbox="greedy").cases("t", "s", 1)
    mean = 0.0
    for triple in itertools.product(dist, repeat=3):
        xs = [_x("e", cases[0], text=t) for t in triple]
        g = _odd_one_out(*xs)
        assert g is not None
        mean += dist[triple[0]] * dist[triple[1]] * dist[triple[2]] * g
    assert mean == pytest.approx(0.0, abs=1e-12)


def test_unknown_blackbox_mode_names_greedy() -> None:
    with pytest.raises(ValueError, match="greedy"):
        SentinelDesign(prompts=DESIGN.prompts, blackbox="nope")
