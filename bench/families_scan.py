"""The gateway's in-flight leak scan against what it already does per answer: parse the body.

Prints, for answers of a few shapes, the time of ``ToolValidator.check`` (the family scan, its
prefilter first) next to ``orjson.loads`` of the same answer's response body, as a ratio, over
``--repeats`` rounds (median and the range of the per-round ratios).

    PYTHONPATH=src python bench/families_scan.py --repeats 15
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import orjson

from parity.exchange import Completion
from parity.gateway._validation import ToolValidator

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PROSE = ("The weather in Paris is mild today, with a light breeze from the west and clouds "
         "clearing by the afternoon. ") * 20
SHAPES = {
    "prose (2 KB)": PROSE,
    "prose + code block": PROSE + '\n```python\nprint({"a": [1, 2]})\n```\n',
    "json answer": orjson.dumps({"city": "Paris", "forecast": [PROSE[:80]] * 10}).decode(),
    "hermes leak": PROSE[:200] + '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
}


def _per_call(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    v = ToolValidator()
    print(f"{'answer':22} {'scan µs':>9} {'parse µs':>9} {'scan/parse':>11} (median, min-max of {args.repeats} rounds)")
    for label, text in SHAPES.items():
        body = orjson.dumps({"choices": [{"message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}]})
        c = Completion(content=text, finish_reason="stop")
        scans, parses = [], []
        for _ in range(args.repeats):
            scans.append(_per_call(lambda c=c: v.check(TOOLS, c), args.n))
            parses.append(_per_call(lambda b=body: orjson.loads(b), args.n))
        ratios = [s / p for s, p in zip(scans, parses, strict=True)]
        print(f"{label:22} {statistics.median(scans) * 1e6:9.2f} {statistics.median(parses) * 1e6:9.2f} "
              f"{statistics.median(ratios):11.2f} ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
