"""The testbed's variants, as data: one endpoint each, all serving model id "smollm2".

A variant differs from the reference in exactly one respect (weights,
template, or a fault proxy in front), so that a finding can be traced to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from parity.testbed._errors import TestbedError

MODEL_ID = "smollm2"
TOOL_TEMPLATE = "Qwen-Qwen2.5-7B-Instruct.jinja"


@dataclass(frozen=True)
class Variant:
    """How one endpoint is deployed. ``upstream`` set means a fault proxy in front of it."""

    name: str
    description: str
    quantization: str = "Q4_1"
    pure: bool = False  # llama-quantize --pure: no higher-precision mixture
    template_file: str | None = TOOL_TEMPLATE
    builtin_template: str | None = None
    upstream: str | None = None
    default: bool = True  # started when no variants are named

    @property
    def is_proxy(self) -> bool:
        return self.upstream is not None

    @property
    def quantization_label(self) -> str:
        return self.quantization + (" (pure)" if self.pure else "")

    @property
    def template_label(self) -> str:
        return self.builtin_template or self.template_file or "embedded"


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("reference", "shipped Q4_1 weights, Qwen2.5 tool template"),
        Variant("replica", "identical to reference: another process, another port"),
        Variant("q8", "requantized to Q8_0", quantization="Q8_0"),
        Variant("q4_0", "requantized to Q4_0", quantization="Q4_0"),
        Variant("q3_k_m", "requantized to Q3_K_M", quantization="Q3_K_M"),
        # The default Q2_K mixture keeps this small model coherent; --pure makes
        # it the clearly broken endpoint a verifier must catch.
        Variant("q2", "requantized to Q2_K --pure (gibberish)", quantization="Q2_K", pure=True),
        # llama.cpp's built-in ChatML template has no tools section: the request
        # is accepted, and the tools silently never reach the prompt.
        Variant(
            "template",
            "built-in ChatML template: tools never reach the prompt",
            template_file=None,
            builtin_template="chatml",
        ),
        Variant("faults", "fault proxy in front of reference", upstream="reference"),
        # A replica that changes when told: --switch / --misroute (docs/testbed.md).
        Variant("switch", "proxy in front of replica: switches or misroutes as configured", upstream="replica",
                default=False),
    )
}


def resolve_variants(names: Iterable[str] | None) -> list[Variant]:
    """Variants by name, in canonical order, with the upstreams proxies need added."""
    wanted = [n for n, v in VARIANTS.items() if v.default] if names is None else [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in VARIANTS]
    if unknown:
        raise TestbedError(
            f"unknown variant(s): {', '.join(unknown)} (valid: {', '.join(VARIANTS)})"
        )
    if not wanted:
        raise TestbedError(f"no variants given (valid: {', '.join(VARIANTS)})")
    chosen = set(wanted)
    for name in wanted:
        upstream = VARIANTS[name].upstream
        if upstream is not None:
            chosen.add(upstream)
    return [v for name, v in VARIANTS.items() if name in chosen]


def default_threads() -> int:
    """Half the cores: several servers share the machine, and 2 cores is the target."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class ServerSettings:
    """llama-server settings shared by every variant (only the variant's own field differs)."""

    ctx_size: int = 4096
    parallel: int = 2
    threads: int = 1
    seed: int = 42
    repeat_penalty: float = 1.0
    host: str = "127.0.0.1"
    # False: every request is computed from scratch (--no-cache-prompt --cache-reuse 0
    # --cache-ram 0). A reused prefix sends the rest of the prompt, or only its last token,
    # down another kernel path, which can flip a greedy near-tie: repeats of one request
    # then differ. Tests that compare answers want this off, and one slot (parallel=1),
    # so that no request is batched with another's.
    cache_prompt: bool = True

    @property
    def context_per_slot(self) -> int:
        # Without --kv-unified each of the parallel slots gets an equal share.
        return self.ctx_size // self.parallel


def llama_server_argv(
    llama_server: Path,
    templates_dir: Path,
    variant: Variant,
    model_path: Path,
    port: int,
    settings: ServerSettings,
) -> list[str]:
    """The full llama-server command line for one variant."""
    argv = [
        str(llama_server),
        "--model",
        str(model_path),
        "--alias",
        MODEL_ID,
        "--host",
        settings.host,
        "--port",
        str(port),
        "--ctx-size",
        str(settings.ctx_size),
        "--parallel",
        str(settings.parallel),
        "--threads",
        str(settings.threads),
        "--threads-batch",
        str(settings.threads),
        "--seed",
        str(settings.seed),
        "--repeat-penalty",
        str(settings.repeat_penalty),
        "--no-webui",
        "--jinja",
    ]
    if not settings.cache_prompt:
        argv += ["--no-cache-prompt", "--cache-reuse", "0", "--cache-ram", "0"]
    if variant.template_file is not None:
        template = templates_dir / variant.template_file
        if not template.is_file():
            raise TestbedError(f"chat template {template} missing; rebuild with --force")
        argv += ["--chat-template-file", str(template)]
    elif variant.builtin_template is not None:
        argv += ["--chat-template", variant.builtin_template]
    return argv
