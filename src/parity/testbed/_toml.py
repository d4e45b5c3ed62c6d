"""parity.toml for the running testbed, written as text (TOML has no writer in the stdlib)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from parity.testbed._model import SHIPPED_QUANTIZATION
from parity.testbed._state import RunningVariant
from parity.testbed._variants import VARIANTS, ServerSettings

HEADER = """\
# Written by `parity testbed config` for the endpoints running now.
# Every endpoint declares what the reference serves -- as a provider claiming
# to serve the same model would; the comment above each says what it serves.
"""


def _string(value: str) -> str:
    # JSON string escapes are valid in TOML basic strings.
    return json.dumps(value, ensure_ascii=False)


def endpoints_toml(records: Sequence[RunningVariant], settings: ServerSettings) -> str:
    order = {name: i for i, name in enumerate(VARIANTS)}
    lines = [HEADER]
    for record in sorted(records, key=lambda r: order.get(r.variant, len(order))):
        serves = ", ".join(f"{k} {v}" for k, v in record.serves.items())
        lines += [
            "[[endpoints]]",
            f"# {record.kind} pid {record.pid}; serves: {serves}",
            f"name = {_string(record.variant)}",
            f"base_url = {_string(record.base_url)}",
            f"model = {_string(record.model)}",
            f"reference = {'true' if record.variant == 'reference' else 'false'}",
            # llama-server answers at most `parallel` requests at once; more only queue.
            f"max_concurrency = {settings.parallel}",
            # CPU decoding of long answers on 2 cores is slow; 120 s is not enough.
            "timeout_s = 600.0",
            "",
            "[endpoints.declared]",
            f"engine = {_string('llama.cpp')}",
            f"quantization = {_string(SHIPPED_QUANTIZATION)}",
            f"context_length = {settings.context_per_slot}",
            # the chat format of the tool template the variants serve (Qwen2.5's Hermes-style calls)
            f"family = {_string('qwen2.5')}",
            "",
        ]
    return "\n".join(lines)
