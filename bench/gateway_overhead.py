"""Gateway overhead: latency the parity gateway (and the LiteLLM proxy) adds over calling upstream.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--rates 500,1000] \
        [--modes whole,stream] [--no-litellm] [--no-write]

One run, one machine, the same mock upstream (raw ASGI on uvicorn) for every
target: direct, parity gateway, LiteLLM proxy (installed into
.bench-venv-litellm/ from PyPI on first use). The upstream answers after 20 ms
with text and a valid tool call: whole (``mode whole``), or for ``stream: true``
as SSE (``mode stream``: the first text delta after 20 ms, then text deltas,
the tool call in three pieces, the finish, usage and [DONE], in groups 2 ms
apart). The gateway runs as users run it (``parity gateway serve``, access log
on, every request, to a file) with every in-flight check on: tool-call
validation, the family-markup scan of the answer's text, secret scrubbing (the
endpoint has an API key from ``api_key_env`` and a secret header value; after
the load, the upstream is made to reflect the header value and the bench
checks it comes back masked, whole and streamed). Every server and the load
generator run in processes of their own; LiteLLM is measured after the gateway
is stopped (one proxy on the cores at a time). The load is open-loop at a
fixed rate over keep-alive connections (a minimal HTTP/1.1 client, so the
generator's own cost stays small); a request's latency is the time to its
complete answer (streams: to [DONE]; TTFT: to the first text); the added
latency is the difference of quantiles, target minus direct, at the same rate
and mode. p99 carries a distribution-free 95% interval (order statistics).
``--pin`` gives the proxy under test a core of its own and the upstream and the
load generator the others (``sched_setaffinity``), for both the direct and the
proxied measurements: what the proxy adds without the wait for a core that
three busy processes share.

Instead of latency, ``--work N`` counts system calls and Python calls per request (perf, cProfile)
and ``--instr N`` counts instructions per request (valgrind's callgrind): load-robust measures
for a shared machine, with ``--baseline REF`` measuring the gateway of a git revision beside this
tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _gw.cpu import run_cpu, source_of
from _gw.instr import run_instr
from _gw.load import load
from _gw.mock import MODES, upstream_app
from _gw.procs import PY, gateway, gateway_state, litellm, measure, pin, port, scrubbed, spawn
from _gw.report import command, table, write
from _gw.work import run_work


def _run(args: argparse.Namespace, rates: list[float], modes: list[str], workdir: Path,
         procs: list[subprocess.Popen[bytes]]) -> tuple[dict[tuple[str, str, float], dict[str, Any]], list[str], str]:
    up_port, gw_port, ll_port = port(), port(), port()
    upstream = f"http://127.0.0.1:{up_port}"
    procs.append(spawn([PY, __file__, "_upstream", str(up_port)], up_port, "upstream"))
    procs.append(gateway(upstream, gw_port, workdir))
    targets = {"direct": f"{upstream}/v1/chat/completions",
               "parity": f"http://127.0.0.1:{gw_port}/v1/chat/completions"}
    results = {(mode, name, r): measure(url, mode, r, args.duration)
               for mode in modes for r in rates for name, url in targets.items()}
    state = gateway_state(workdir / "gateway.log", {mode: scrubbed(targets["parity"], mode) for mode in modes})
    if not args.no_litellm:
        # One proxy at a time: the parity gateway is stopped before LiteLLM starts, so
        # neither measures the other's idle or backlog work on the shared cores.
        gw_proc = procs.pop()
        gw_proc.terminate()
        gw_proc.wait(timeout=30)
        proc = litellm(upstream, ll_port, workdir)
        if proc is not None:
            procs.append(proc)
            targets["litellm"] = f"http://127.0.0.1:{ll_port}/v1/chat/completions"
            results.update({(mode, "litellm", r): measure(targets["litellm"], mode, r, args.duration)
                            for mode in modes for r in rates})
    return results, list(targets), state


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rates", default="500,1000")
    ap.add_argument("--modes", default="whole,stream", help="whole, stream, or both (comma-separated)")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--pin", action="store_true", help="the proxy under test on a core of its own, the upstream "
                    "and the load generator on the others (the added latency without the wait for a shared core)")
    ap.add_argument("--cpu", type=int, metavar="N", help="instead of latency: the gateway's CPU time per request, "
                    "N requests per mode and repetition at the first of --rates (see _gw/cpu.py)")
    ap.add_argument("--work", type=int, metavar="N", help="instead of latency: system calls and Python calls per "
                    "request, N requests per mode and build (needs perf; see _gw/work.py)")
    ap.add_argument("--instr", type=int, metavar="N", help="instead of latency: instructions per request under "
                    "callgrind, N requests per mode and build (needs valgrind; see _gw/instr.py)")
    ap.add_argument("--reps", type=int, default=3, help="--cpu: repetitions, alternating builds")
    ap.add_argument("--baseline", metavar="REF[,REF]",
                    help="--cpu, --work, --instr: also measure the gateway of these git revisions")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: one or more of {', '.join(MODES)}")
    load_before = os.getloadavg()
    placement = pin(args.pin)
    workdir = Path(tempfile.mkdtemp(prefix="parity-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    if args.cpu or args.work or args.instr:
        baselines = [r for r in (args.baseline or "").split(",") if r]
        try:
            up_port = port()
            procs.append(spawn([PY, __file__, "_upstream", str(up_port)], up_port, "upstream"))
            upstream = f"http://127.0.0.1:{up_port}"
            builds = {"this tree": None, **{f"baseline {r}": source_of(r, workdir) for r in baselines}
                      } if not args.cpu else {}
            if args.work:
                cpu = run_work(upstream, workdir, procs, modes, args.work, builds)
            elif args.instr:
                cpu = run_instr(upstream, workdir, procs, modes, args.instr, builds)
            else:
                cpu = run_cpu(upstream, workdir, procs, modes, rates[0], args.cpu, args.reps, baselines)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=30)
        print(f"Command: `{command(args)}`; load average before: {load_before[0]:.2f}\n\n{cpu}")
        return
    try:
        results, names, state = _run(args, rates, modes, workdir, procs)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    machine = (f"{os.cpu_count()} CPU cores for the upstream, the gateway or LiteLLM (never both at "
               f"once) and the load generator, each its own process; load average before the run "
               f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1 / 5 / 15 min); "
               f"{placement}")
    report = "\n\n".join([f"Command: `{command(args)}`", f"Machine: {machine}.", state,
                          table(results, rates, modes, names)])
    print(report)
    if not args.no_write:
        write(report)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_upstream":
        import uvicorn

        uvicorn.run(upstream_app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False, lifespan="off")
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        import uvloop  # the gateway and the upstream run on it too: the generator stays cheap

        print(json.dumps(uvloop.run(load(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])))))
    else:
        main()
