"""``parity score toolcall`` on K2VV result files: F1, K2VV's similarity, a verdict."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
from helpers import healthy_script, make_config, transports, weather_cases
from typer.testing import CliRunner

from parity.cli.main import app
from parity.fake import Answer, FakeEndpoint
from parity.runner import Runner
from parity.store import Store
from parity.suites.toolcall.k2vv import k2vv_result_from_exchange
from parity.suites.toolcall.suite import ToolcallSuite


def skipping(body: dict[str, Any]) -> Any:
    """Calls the tool only half the time it should: a template that loses tools."""
    a = healthy_script(body)
    if a.calls and random.random() < 0.5:
        return Answer(content="I cannot check the weather.")
    return a


async def k2vv_files(tmp_path: Path, store: Store) -> dict[str, Path]:
    random.seed(3)
    apps = {"ref": FakeEndpoint(healthy_script), "cand": FakeEndpoint(skipping),
            "good": FakeEndpoint(healthy_script)}
    cases = weather_cases(120)
    result = await Runner(make_config("ref", "cand", "good"), [ToolcallSuite(cases)], store,
                          transport=transports(apps)).run()
    index = {c.hash: i + 1 for i, c in enumerate(cases)}
    files: dict[str, Path] = {}
    for name, repeat in (("ref", 0), ("ref", 1), ("cand", 0), ("good", 0)):
        rows = [k2vv_result_from_exchange(x, index[x.case_hash])
                for x in store.exchanges(result.run.id, endpoint=name) if x.repeat == repeat]
        path = tmp_path / f"{name}{repeat}.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(r.model_dump()) for r in rows) + b"\n")
        files[f"{name}{repeat}"] = path
    return files


async def test_score_gives_f1_similarity_and_verdict(tmp_path: Path, store: Store) -> None:
    f = await k2vv_files(tmp_path, store)
    out = tmp_path / "score.json"
    r = CliRunner().invoke(app, ["score", "toolcall", "--results", str(f["cand0"]), "--reference",
                                 str(f["ref0"]), "--reference", str(f["ref1"]), "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = orjson.loads(out.read_bytes())
    v = data["verdict"]
    assert v["verdict"] == "fail" and "tool_call.trigger_rate" in v["failing_checks"]
    f1 = v["metrics"]["trigger_f1"]
    assert 0.5 < f1["value"] < 0.8 and f1["low"] < f1["value"] < f1["high"] and f1["n"] == 120
    k = data["k2vv"]
    assert k["tool_call_f1"]["f1"] == f1["value"]  # K2VV's arithmetic and ours agree on the point
    assert k["similarity"] < 1.0
    assert data["reference_metrics"]["trigger_agreement"]["value"] == 1.0


async def test_score_faithful_candidate_passes(tmp_path: Path, store: Store) -> None:
    f = await k2vv_files(tmp_path, store)
    r = CliRunner().invoke(app, ["score", "toolcall", "--results", str(f["good0"]), "--reference",
                                 str(f["ref0"]), "--reference", str(f["ref1"])])
    assert r.exit_code == 0, r.output
    assert "verdict: pass" in r.output and "K2VV similarity (its own arithmetic): 1.0000" in r.output


def test_score_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["score", "toolcall", "--results", str(tmp_path / "no.jsonl"),
                                 "--reference", str(tmp_path / "no2.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output
