"""Testbed up/status/config/down on a fake build whose llama-server is a tiny Python
server: the orchestration is real (processes, ports, proxy), only the model is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from helpers_proc import wait_until

from parity.config import load_config
from parity.testbed import (
    VARIANTS,
    BuildError,
    ServerSettings,
    Testbed,
    TestbedError,
    pid_alive,
    port_is_free,
    resolve_variants,
)
from parity.testbed._state import STATE_FILE, load_state
from parity.testbed._variants import llama_server_argv

FIVE = ["reference", "replica", "q2", "template", "faults"]


@pytest.fixture
def testbed(tmp_path: Path, fake_cache: Path) -> Iterator[Testbed]:
    bed = Testbed(tmp_path / "run", fake_cache, startup_timeout_s=30, log=lambda _: None)
    yield bed
    bed.down()


def test_up_status_config_down(testbed: Testbed, tmp_path: Path) -> None:
    records = testbed.up(FIVE)
    assert [r.variant for r in records] == FIVE
    assert all(r.startup_s is not None for r in records)
    assert len({r.port for r in records}) == 5
    assert all(s.alive and s.healthy for s in testbed.status())

    proxy = next(r for r in records if r.variant == "faults")
    assert proxy.kind == "fault-proxy"
    answer = httpx.post(f"{proxy.base_url}/chat/completions", json={"messages": []}, timeout=10)
    # the fake's answer, through the proxy (this request draws reasoning_leak, which only prefixes it)
    assert answer.json()["choices"][0]["message"]["content"].endswith("fake answer")

    config = load_config(testbed.write_config(tmp_path / "parity.toml"))
    assert [e.name for e in config.endpoints] == FIVE
    assert config.reference.name == "reference"
    assert {e.model for e in config.endpoints} == {"smollm2"}
    assert config.endpoint("q2").declared.quantization == "Q4_1"  # what it claims
    assert "Q2_K" in (tmp_path / "parity.toml").read_text()  # what it serves, in a comment

    stopped = testbed.down()
    assert sorted(r.variant for r in stopped) == sorted(FIVE)
    assert not any(pid_alive(r.pid) for r in records)
    assert all(port_is_free(r.port) for r in records)
    assert not (testbed.run_dir / STATE_FILE).exists()
    assert testbed.status() == []


def test_up_again_keeps_what_runs(testbed: Testbed) -> None:
    first = testbed.up(["reference"])
    second = testbed.up(["reference", "replica"])
    assert second[0].pid == first[0].pid
    assert [r.variant for r in second] == ["reference", "replica"]


def test_dead_records_are_forgotten_and_their_proxy_follows(testbed: Testbed) -> None:
    reference, proxy = testbed.up(["faults"])
    os.kill(reference.pid, signal.SIGKILL)
    wait_until("the killed reference is gone", lambda: not pid_alive(reference.pid, reference.start_ticks))
    new_reference, new_proxy = testbed.up(["faults"])
    assert new_reference.pid != reference.pid
    assert new_proxy.pid != proxy.pid  # it forwarded to the dead reference's port
    assert new_proxy.serves["upstream_url"] == new_reference.base_url
    assert not pid_alive(proxy.pid)
    answer = httpx.post(f"{new_proxy.base_url}/chat/completions", json={}, timeout=10)
    assert answer.status_code == 200


def test_a_server_that_cannot_start_is_reported_and_cleaned_up(
    tmp_path: Path, fake_cache_factory: Callable[[str], Path]
) -> None:
    bed = Testbed(
        tmp_path / "run", fake_cache_factory("crash"), startup_timeout_s=30, log=lambda _: None
    )
    with pytest.raises(TestbedError, match="cannot load model"):
        bed.up(["reference", "replica"])
    assert load_state(bed.run_dir).processes == []


CRASHING_UP = """
import sys
from pathlib import Path
from parity.testbed import Testbed
Testbed(Path(sys.argv[1]), Path(sys.argv[2]), startup_timeout_s=600).up(["reference", "q2"])
"""


def test_down_after_up_crashed(tmp_path: Path, fake_cache_factory: Callable[[str], Path]) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    up = subprocess.Popen(
        [sys.executable, "-c", CRASHING_UP, str(run_dir), str(fake_cache_factory("hang"))], env=env
    )
    wait_until("up recorded its servers", lambda: len(load_state(run_dir).processes) >= 2, 30)
    up.kill()  # `up` dies while waiting for health: its servers are orphans now
    up.wait()
    orphans = load_state(run_dir).processes
    assert all(pid_alive(r.pid, r.start_ticks) for r in orphans)

    stopped = Testbed(run_dir, tmp_path / "unused-cache", log=lambda _: None).down()
    assert {r.pid for r in stopped} == {r.pid for r in orphans}
    assert not any(pid_alive(r.pid) for r in orphans)
    assert all(port_is_free(r.port) for r in orphans)


def test_unknown_variant_lists_the_valid_ones() -> None:
    with pytest.raises(TestbedError, match=r"unknown variant.*nope.*valid: reference, replica"):
        resolve_variants(["reference", "nope"])


def test_faults_brings_its_upstream() -> None:
    assert [v.name for v in resolve_variants(["faults"])] == ["reference", "faults"]
    assert [v.name for v in resolve_variants(None)] == [n for n in VARIANTS if n != "switch"]  # on request
    assert [v.name for v in resolve_variants(["switch"])] == ["replica", "switch"]


def test_no_build_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="parity testbed build"):
        Testbed(tmp_path / "run", tmp_path / "empty-cache", log=lambda _: None).up(["reference"])


def test_server_argv_differs_only_in_the_variant(tmp_path: Path) -> None:
    (tmp_path / "Qwen-Qwen2.5-7B-Instruct.jinja").write_text("")
    settings = ServerSettings(threads=1)

    def argv(name: str) -> list[str]:
        return llama_server_argv(
            Path("llama-server"), tmp_path, VARIANTS[name], Path("m.gguf"), 8080, settings
        )

    assert argv("reference") == argv("replica")
    reference = argv("reference")
    assert reference[reference.index("--chat-template-file") + 1].endswith(
        "Qwen-Qwen2.5-7B-Instruct.jinja"
    )
    assert {"--jinja", "--no-webui"} <= set(reference)
    assert reference[reference.index("--repeat-penalty") + 1] == "1.0"
    template = argv("template")
    assert template[template.index("--chat-template") + 1] == "chatml"
    assert "--chat-template-file" not in template


def test_no_prompt_cache_flags(tmp_path: Path) -> None:
    (tmp_path / "Qwen-Qwen2.5-7B-Instruct.jinja").write_text("")

    def argv(settings: ServerSettings) -> list[str]:
        return llama_server_argv(Path("llama-server"), tmp_path, VARIANTS["reference"], Path("m.gguf"), 8080,
                                 settings)

    assert "--no-cache-prompt" not in argv(ServerSettings())  # llama-server's default: cached
    fresh = argv(ServerSettings(parallel=1, cache_prompt=False))
    assert fresh[fresh.index("--parallel") + 1] == "1"
    assert {"--no-cache-prompt"} <= set(fresh)
    assert fresh[fresh.index("--cache-reuse") + 1] == "0" and fresh[fresh.index("--cache-ram") + 1] == "0"
