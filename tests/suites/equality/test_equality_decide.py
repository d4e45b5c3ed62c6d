"""The decision rule on samples, without endpoints."""

from __future__ import annotations

import math

import pytest

from parity.suites.equality import Design, Sample, choose_prompts, decide
from parity.suites.equality._cases import CaseBuilder, Plan, Sampling


def test_spending_adds_up_to_alpha_and_skips_the_first_look() -> None:
    d = Design(alpha=0.05, budget=100, batch=25, max_tokens=16)
    assert d.looks() == [25, 50, 75, 100]
    spend = d.spending(0.025)
    assert spend[0] == 0 and math.isclose(sum(spend), 0.025)


def _s(prompt: str, index: int, order: int, text: str, top: dict[str, float] | None) -> Sample:
    return Sample(prompt=prompt, index=index, order=order, text=text, tokens=None, first_top=top)


def test_logprob_rejects_at_the_first_look_and_falls_back_without() -> None:
    design = Design(alpha=0.05, budget=48, batch=12, max_tokens=4)
    prompts = [f"p{i}" for i in range(12)]
    ref_top, cand_top = {"a": math.log(0.6), "b": math.log(0.4)}, {"a": math.log(0.3), "b": math.log(0.7)}
    ref = [_s(p, i, i * 12 + j, "ab", ref_top) for i in range(4) for j, p in enumerate(prompts)]
    cand = [_s(p, 0, j, "ab", cand_top) for j, p in enumerate(prompts)]
    d = decide(ref, cand, design, sent=12)
    assert d.rejected and d.by == "logprob" and d.stopped_at == 12 and d.logprob
    plain = [_s(p, 0, j, "ab", None) for j, p in enumerate(prompts)]
    d2 = decide(ref, plain, design, sent=12)
    assert not d2.logprob and not d2.rejected and d2.alpha_bb == 0.05


def test_plans_and_cases_are_deterministic() -> None:
    assert choose_prompts(1, 25) == choose_prompts(1, 25) != choose_prompts(2, 25)
    with pytest.raises(ValueError):
        choose_prompts(0, 1)
    b = CaseBuilder(Sampling())
    plan = Plan(tuple(choose_prompts(0, 25)), 100)
    assert plan.slot(26) == (plan.prompt_ids[1], 1)
    one, two = b.case(plan, 0, "x", 26), b.case(plan, 0, "x", 26)
    assert one.body == two.body and one.hash == two.hash
    assert b.case(plan, 0, "y", 26).body["seed"] != one.body["seed"]
    assert one.body["max_tokens"] == 16 and one.body["temperature"] == 1.0


def test_samples_read_openai_and_llama_cpp_logprobs() -> None:
    from parity.exchange import Completion, Exchange, ExchangeStatus
    from parity.suites.equality._samples import to_sample

    def ex(logprobs: dict[str, object] | None) -> Exchange:
        return Exchange(status=ExchangeStatus.OK, completion=Completion(content="Hi!", logprobs=logprobs),
                        run_id="r", endpoint="e", suite="equality", case_id="fact-moon#3",
                        case_hash="h", request={})

    openai = {"content": [{"token": "Hi", "logprob": -0.1,
                           "top_logprobs": [{"token": "Hi", "logprob": -0.1}]}]}
    llama = {"content": [{"token": "Hi", "prob": 0.9, "top_probs": [{"token": "Hi", "prob": 0.9}]}]}
    a, b, c = to_sample(ex(openai), 7), to_sample(ex(llama), 7), to_sample(ex(None), 7)
    assert a is not None and a.prompt == "fact-moon" and a.index == 3 and a.tokens == ("Hi",)
    assert a.first_top == {"Hi": -0.1}
    assert b is not None and b.first_top is not None and math.isclose(b.first_top["Hi"], math.log(0.9))
    assert c is not None and c.tokens is None and c.first_top is None and c.text == "Hi!"
