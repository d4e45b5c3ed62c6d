"""The gateway bench's report: the table, the verdict against the target, docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from .procs import ROOT

TARGET_RATE, TARGET_ADDED_P99_MS = 1000.0, 2.0


def row(mode: str, r: float, name: str, x: dict[str, Any], d: dict[str, Any]) -> str:
    p99 = f"{x['p99_ms']:.2f} [{x['p99_lo_ms']:.2f}, {x['p99_hi_ms']:.2f}]"
    ttft = f"{x['ttft_p50_ms']:.2f} / {x['ttft_p99_ms']:.2f}" if "ttft_p50_ms" in x else "—"
    if name == "direct":
        add50 = add99 = "—"
    else:  # the interval of a difference of two quantiles, each in its own 95% interval
        add50 = f"{x['p50_ms'] - d['p50_ms']:.2f}"
        add99 = (f"{x['p99_ms'] - d['p99_ms']:.2f} [{x['p99_lo_ms'] - d['p99_hi_ms']:.2f}, "
                 f"{x['p99_hi_ms'] - d['p99_lo_ms']:.2f}]")
    errs = f" ({', '.join(x['error_kinds'])})" if x["errors"] else ""
    return (f"| {mode} | {r:.0f} | {name} | {x['achieved_rps']:.0f} | {x['n']} | {x['ok']} / {x['errors']}{errs} | "
            f"{x['p50_ms']:.2f} | {p99} | {ttft} | {add50} | {add99} |")


def verdict(results: dict[tuple[str, str, float], dict[str, Any]], mode: str, top: float, names: list[str]) -> str:
    d, p = results[(mode, "direct", top)], results[(mode, "parity", top)]
    add99 = p["p99_ms"] - d["p99_ms"]
    checks = [(f"added p99 ≤ {TARGET_ADDED_P99_MS:g} ms: {add99:.2f} ms", add99 <= TARGET_ADDED_P99_MS),
              (f"zero errors: {p['errors']} of {p['n']}", p["errors"] == 0),
              (f"achieved rate ≥ 95% of offered: {p['achieved_rps']:.0f}/{top:.0f}", p["achieved_rps"] >= 0.95 * top)]
    if "litellm" in names:
        ratio = (results[(mode, "litellm", top)]["p99_ms"] - d["p99_ms"]) / max(add99, 0.01)
        checks.append((f"≥10× lower added p99 than LiteLLM: {ratio:.1f}×", ratio >= 10))
    note = "" if top == TARGET_RATE else f" (the target is set at {TARGET_RATE:.0f} req/s, not measured here)"
    return (f"Target, {mode}, at {top:.0f} req/s{note}: "
            + "; ".join(f"{c} ({'met' if ok else 'MISSED'})" for c, ok in checks) + ".")


def table(results: dict[tuple[str, str, float], dict[str, Any]], rates: list[float], modes: list[str],
           names: list[str]) -> str:
    lines = ["| mode | rate (req/s) | target | achieved (req/s) | sent | ok / errors | p50 ms | p99 ms [95% CI] | "
             "TTFT p50 / p99 ms | added p50 ms | added p99 ms [95% CI] |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in modes:
        for r in rates:
            d = results[(mode, "direct", r)]
            lines.extend(row(mode, r, name, results[(mode, name, r)], d) for name in names)
            if "litellm" in names:
                p, ll = results[(mode, "parity", r)], results[(mode, "litellm", r)]
                ratio = (ll["p99_ms"] - d["p99_ms"]) / max(p["p99_ms"] - d["p99_ms"], 0.01)
                lines.append(f"| {mode} | {r:.0f} | **LiteLLM added p99 / parity added p99** "
                             f"| | | | | | | | **{ratio:.1f}×** |")
    top = TARGET_RATE if TARGET_RATE in rates else max(rates)
    return "\n".join(lines) + "\n\n" + "\n".join(verdict(results, m, top, names) for m in modes)


def command(args: argparse.Namespace) -> str:
    cmd = f".venv/bin/python bench/gateway_overhead.py --duration {args.duration:g} --rates {args.rates}"
    cmd += f" --modes {args.modes}" if args.modes != "whole,stream" else ""
    if getattr(args, "cpu", None):
        cmd += f" --cpu {args.cpu} --reps {args.reps}"
    if getattr(args, "work", None):
        cmd += f" --work {args.work}"
    if getattr(args, "instr", None):
        cmd += f" --instr {args.instr}"
    if getattr(args, "baseline", None):
        cmd += f" --baseline {args.baseline}"
    cmd += " --pin" if getattr(args, "pin", False) else ""
    return cmd + (" --no-litellm" if args.no_litellm else "")


LATEST = ("<!-- gateway_overhead:latest -->", "<!-- /gateway_overhead:latest -->")


def write(report: str) -> None:
    """The newest figures go between the LATEST markers of docs/benchmarks.md's "Gateway overhead"
    section (at its top when there are none); older records below them are left as they are."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = (f"{LATEST[0]}\n### Newest: measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
             f"{report}\n{LATEST[1]}")
    if LATEST[0] in text and LATEST[1] in text:
        start, end = text.index(LATEST[0]), text.index(LATEST[1]) + len(LATEST[1])
        text = text[:start] + block + text[end:]
    elif "## Gateway overhead\n" in text:
        text = text.replace("## Gateway overhead\n", f"## Gateway overhead\n\n{block}\n", 1)
    else:
        text = text.rstrip("\n") + f"\n\n## Gateway overhead\n\n{block}\n"
    path.write_text(text)
