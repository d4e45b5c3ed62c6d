"""``parity verify`` options: the equality suite's budget and engine-specific fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from parity.cli._suites import make_suites
from parity.cli.main import app
from parity.cli.verify import _engine_params
from parity.suites.equality import EqualitySuite
from parity.suites.equality._cases import LLAMA_CPP_PARAMS


def test_engine_params_reach_the_equality_requests() -> None:
    (suite,) = make_suites(["equality"], {"budget": 60, "engine_params": {}, "logprobs": False})
    assert isinstance(suite, EqualitySuite)
    assert suite.budget == 60 and suite.logprobs is False
    body = suite.sampling.body("hi", 1)
    assert not set(LLAMA_CPP_PARAMS) & set(body)  # a strict API sees only OpenAI fields
    (default,) = make_suites(["equality"], {})
    assert set(LLAMA_CPP_PARAMS) <= set(default.sampling.body("hi", 1))
    assert default.budget == 100


def test_blackbox_picks_the_equality_method(tmp_path: Path) -> None:
    (default,) = make_suites(["equality"], {})
    (mmd,) = make_suites(["equality"], {"blackbox": "mmd"})
    assert (default.blackbox, mmd.blackbox) == ("greedy", "mmd")
    cfg = tmp_path / "parity.toml"
    cfg.write_text('[[endpoints]]\nname = "ref"\nbase_url = "http://127.0.0.1:9/v1"\n'
                   'model = "m"\nreference = true\n')
    result = CliRunner().invoke(app, ["verify", "-c", str(cfg), "-s", "equality",
                                      "--blackbox", "sampled", "--db", str(tmp_path / "p.db")])
    assert result.exit_code == 2 and "blackbox must be one of greedy, mmd" in result.output


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


def test_a_completed_run_is_reused_not_sent_again(tmp_path: Path) -> None:
    """Killed after the run was marked complete, before its outputs: the rerun writes them."""
    import asyncio
    import subprocess

    from helpers_proc import fake_server, parity_cmd, write_config

    from parity.config import load_config
    from parity.runner import Runner
    from parity.store import Store

    db = tmp_path / "p.db"
    with fake_server() as url:
        cfg_path = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        # what the killed command left: a complete run in the store, no results file, no report
        store = Store(str(db))
        first = asyncio.run(Runner(load_config(cfg_path), make_suites(["toolcall"], {"limit": 6}), store,
                                   keys={"ref": None, "cand": None}).run())
        sent = store.count_exchanges(first.run.id)
        store.close()
        assert first.run.status == "complete" and sent > 0

        def verify(*extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(parity_cmd("verify", "-c", str(cfg_path), "--db", str(db), "--limit", "6",
                                             "--json", str(tmp_path / "out.json"),
                                             "--report", str(tmp_path / "report"), *extra),
                                  capture_output=True, text=True, cwd=tmp_path, timeout=120)

        again = verify()
        assert again.returncode == 0, again.stderr
        assert "already complete" in again.stderr and f"run id: {first.run.id}" in again.stderr
        assert (tmp_path / "out.json").exists() and (tmp_path / "report" / "report.html").exists()
        store = Store(str(db))
        assert [r.id for r in store.list_runs()] == [first.run.id]
        assert store.count_exchanges(first.run.id) == sent  # nothing was requested again
        store.close()

        fresh = verify("--new-run")
        assert fresh.returncode == 0, fresh.stderr
        assert f"run id: {first.run.id}" not in fresh.stderr
        store = Store(str(db))
        assert len(store.list_runs()) == 2
        store.close()


def test_ctrl_c_is_a_clean_exit_130(tmp_path: Path) -> None:
    """SIGINT mid-run: exit 130, no traceback, no "Future exception was never retrieved"."""
    import signal
    import subprocess
    import time

    from helpers_proc import fake_server, parity_cmd, sigint_default, write_config

    log = tmp_path / "requests.log"
    with fake_server("--delay", "0.3", "--log", str(log)) as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        proc = subprocess.Popen(parity_cmd("verify", "-c", str(cfg), "--db", str(tmp_path / "p.db"),
                                           "--limit", "40"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                preexec_fn=sigint_default)
        # interrupt once requests are in flight (polling the fake's log; not a timing threshold)
        for _ in range(600):
            if log.exists() and len(log.read_text().splitlines()) >= 10:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Future exception was never retrieved" not in err and "Traceback" not in err, err
    assert "interrupted" in err and "resume" in err
