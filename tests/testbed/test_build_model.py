"""The build cache (without compiling) and the model files."""

from __future__ import annotations

import fcntl
import json
import threading
from pathlib import Path

import pytest
from helpers_proc import wait_until

from parity.testbed import (
    BuildError,
    build_llama_cpp,
    check_toolchain,
    default_cache_dir,
    installed_build,
    quantized_gguf,
    shipped_gguf,
)
from parity.testbed._build import build_lock, build_root, require_build


def test_default_cache_dir_reads_the_given_environment(tmp_path: Path) -> None:
    assert default_cache_dir({"PARITY_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert default_cache_dir({}) == Path.home() / ".cache" / "parity"


def test_installed_build_found_and_reused(fake_cache: Path) -> None:
    build = installed_build(fake_cache)
    assert build is not None
    assert build.llama_server.is_file()
    messages: list[str] = []
    assert build_llama_cpp(fake_cache, log=messages.append).root == build.root
    assert "already built" in messages[0]


def test_a_build_with_other_flags_is_not_reused(fake_cache: Path) -> None:
    info_path = build_root(fake_cache) / "build_info.json"
    info = json.loads(info_path.read_text())
    info["cmake_flags"] = ["-DGGML_NATIVE=ON"]
    info_path.write_text(json.dumps(info))
    assert installed_build(fake_cache) is None
    with pytest.raises(BuildError, match="parity testbed build"):
        require_build(fake_cache)


def test_incomplete_cache_is_not_a_build(tmp_path: Path) -> None:
    (build_root(tmp_path) / "bin").mkdir(parents=True)
    assert installed_build(tmp_path) is None


def test_missing_toolchain_is_named(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"missing: cmake.*C\+\+17 compiler"):
        check_toolchain(path=str(tmp_path))


def test_build_lock_waits_for_the_holder(tmp_path: Path) -> None:
    messages: list[str] = []
    held, released = threading.Event(), threading.Event()

    def holder() -> None:
        with build_lock(tmp_path, messages.append):
            held.set()
            # held until the other side says it is waiting: a condition, not a guessed time
            wait_until("the second holder waits", lambda: bool(messages), 30, 0.01)
            released.set()

    # flock is per open file description, so a thread stands in for another process.
    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    with build_lock(tmp_path, messages.append):
        assert released.is_set()
    thread.join()
    assert messages == [f"waiting for another build holding {tmp_path / '.build.lock'} ..."]
    with (tmp_path / ".build.lock").open() as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: no error


def test_shipped_model_is_found() -> None:
    path = shipped_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_quantized_models_are_cached(fake_cache: Path, tmp_path: Path) -> None:
    build = installed_build(fake_cache)
    assert build is not None
    assert quantized_gguf(build.llama_quantize, build.models_dir, "Q4_1") == shipped_gguf()
    q2 = quantized_gguf(build.llama_quantize, build.models_dir, "Q2_K")
    assert q2.name == "SmolLM2-135M-Instruct.Q2_K.gguf"
    stamp = q2.stat().st_mtime_ns
    assert (
        quantized_gguf(build.llama_quantize, build.models_dir, "q2_k").stat().st_mtime_ns == stamp
    )


def test_pure_quantization_is_cached_apart(fake_cache: Path) -> None:
    build = installed_build(fake_cache)
    assert build is not None
    pure = quantized_gguf(build.llama_quantize, build.models_dir, "Q2_K", pure=True)
    mixed = quantized_gguf(build.llama_quantize, build.models_dir, "Q2_K")
    assert pure.name == "SmolLM2-135M-Instruct.Q2_K.pure.gguf"
    assert pure != mixed
