"""``parity verify`` options: the equality suite's budget and engine-specific fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from parity.cli.main import app
from parity.cli.verify import _engine_params, _suites
from parity.suites.equality import EqualitySuite
from parity.suites.equality._cases import LLAMA_CPP_PARAMS


def test_engine_params_reach_the_equality_requests() -> None:
    (suite,) = _suites(["equality"], None, None, None, budget=60, engine_params={}, logprobs=False)
    assert isinstance(suite, EqualitySuite)
    assert suite.budget == 60 and suite.logprobs is False
    body = suite.sampling.body("hi", 1)
    assert not set(LLAMA_CPP_PARAMS) & set(body)  # a strict API sees only OpenAI fields
    (default,) = _suites(["equality"], None, None, None)
    assert set(LLAMA_CPP_PARAMS) <= set(default.sampling.body("hi", 1))
    assert default.budget == 100


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "3"])
def test_bad_engine_params_are_refused(text: str) -> None:
    with pytest.raises(typer.Exit):
        _engine_params(text)


def test_bad_engine_params_name_the_option(tmp_path: Path) -> None:
    cfg = tmp_path / "parity.toml"
    cfg.write_text('[[endpoints]]\nname = "ref"\nbase_url = "http://127.0.0.1:9/v1"\n'
                   'model = "m"\nreference = true\n')
    result = CliRunner().invoke(app, ["verify", "-c", str(cfg), "-s", "equality",
                                      "--engine-params", "[1]", "--db", str(tmp_path / "p.db")])
    assert result.exit_code == 2
    assert "--engine-params" in result.output and "object" in result.output
