"""``parity score toolcall``: parity's metrics and verdict from K2VV result files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ._common import console, fail
from ._exit import write_json

score_app = typer.Typer(help="Score result files produced by other tools.", no_args_is_help=True)


@score_app.command("toolcall")
def toolcall(
    results: Path = typer.Option(..., "--results", help="The candidate's K2VV results JSONL."),
    reference: list[Path] = typer.Option(..., "--reference",
                                         help="The reference's K2VV results JSONL; give two runs to "
                                              "measure its own noise."),
    json_out: Path = typer.Option(None, "--json", help="Write the scores as JSON here ('-': stdout)."),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-6, max=0.5),
    margin: float = typer.Option(0.10, "--margin", min=1e-6, max=1.0),
) -> None:
    """F1, error classes, K2VV's own similarity and a verdict, all with intervals and counts."""
    from parity.report import ScoreResults
    from parity.suites.toolcall.k2vv import load_k2vv_results
    from parity.suites.toolcall.score import score_k2vv

    try:
        cand = load_k2vv_results(results)
        refs = [load_k2vv_results(p) for p in reference]
    except FileNotFoundError as exc:
        raise fail(f"no such file: {exc.filename}") from None
    except ValueError as exc:
        raise fail(f"not a K2VV results file: {exc}") from None
    if not cand or not all(refs):
        raise fail("a results file is empty")
    s = score_k2vv(cand, refs, alpha=alpha, margin=margin, name=results.stem,
                   reference_name=reference[0].stem)
    v = s.verdict
    table = Table(title=f"{results.name} vs {', '.join(p.name for p in reference)}")
    table.add_column("metric")
    table.add_column("value [95% CI] (n)")
    for name, est in v.metrics.items():
        table.add_row(name, est.fmt())
    console.print(table)
    sim = s.k2vv["similarity"]
    console.print(f"K2VV similarity (its own arithmetic): {sim:.4f}" if sim is not None else "K2VV similarity: n/a")
    f1 = s.k2vv["tool_call_f1"]
    console.print(f"K2VV tool_call_f1: {f1['f1']:.4f} (tp={f1['tp']} fp={f1['fp']} fn={f1['fn']} tn={f1['tn']})")
    console.print(f"verdict: [bold]{v.verdict.value}[/] ({v.test}, alpha={v.alpha}, "
                  f"p={'-' if v.p_value is None else f'{v.p_value:.3g}'})")
    for r in v.reasons:
        console.print(f"  - {r}")
    if json_out is not None:
        payload = ScoreResults(verdict=v, reference_metrics=s.reference_metrics, k2vv=s.k2vv)
        console.print(f"scores: {write_json(json_out, payload.model_dump(mode='json'))}")


def register(app: typer.Typer) -> None:
    app.add_typer(score_app, name="score")
