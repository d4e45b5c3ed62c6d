"""The testbed: start, stop and describe the local endpoints, by pid, from a state file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from parity.testbed._build import require_build
from parity.testbed._errors import TestbedError
from parity.testbed._model import quantized_gguf
from parity.testbed._procs import (
    free_port,
    pid_alive,
    probe_health,
    process_start_ticks,
    spawn,
    stop,
    wait_all_healthy,
)
from parity.testbed._state import RunningVariant, TestbedState, load_state, save_state
from parity.testbed._toml import endpoints_toml
from parity.testbed._variants import (
    MODEL_ID,
    VARIANTS,
    ServerSettings,
    Variant,
    llama_server_argv,
    resolve_variants,
)
from parity.testbed.faults import (
    FaultConfig,
    FaultMode,
    FaultSpec,
    flag_target,
    parse_misroute,
    parse_switch,
    proxy_argv,
)

DEFAULT_RUN_DIR = Path(".parity") / "testbed"
# Every mode, at a rate a suite of a few hundred requests sees each of them.
DEFAULT_FAULTS: tuple[FaultSpec, ...] = tuple(FaultSpec(mode=m, rate=0.06) for m in FaultMode)
SWITCH_VARIANT = "switch"


class VariantStatus(BaseModel):
    """A state-file record and what is true of it now."""

    record: RunningVariant
    alive: bool
    healthy: bool


def _child_env(extra_pythonpath: str | None = None) -> dict[str, str]:
    # LLAMA_ARG_* variables would silently change llama-server's settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
    if extra_pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_pythonpath, env.get("PYTHONPATH")]))
    return env


class Testbed:
    """Local OpenAI-compatible endpoints serving SmolLM2 faithfully and unfaithfully."""

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self,
        run_dir: Path,
        cache_dir: Path,
        *,
        settings: ServerSettings | None = None,
        faults: Sequence[FaultSpec] = DEFAULT_FAULTS,
        fault_seed: int = 0,
        startup_timeout_s: float = 180.0,
        log: Callable[[str], None] = print,
        switch: str | None = None,
        misroute: str | None = None,
    ) -> None:
        """``switch``/``misroute``: flags for the ``switch`` variant (see ``parity.testbed.faults``),
        their targets variant names (started with it) or URLs."""
        if switch:  # a bad flag fails here, before anything starts
            parse_switch(switch)
        if misroute:
            parse_misroute(misroute)
        self.switch = switch
        self.misroute = misroute
        self.run_dir = Path(run_dir)
        self.cache_dir = Path(cache_dir)
        self.settings = settings or ServerSettings()
        self.faults = list(faults)
        self.fault_seed = fault_seed
        self.startup_timeout_s = startup_timeout_s
        self.log = log

    def _state(self) -> TestbedState:
        return load_state(self.run_dir)

    def up(self, variants: Iterable[str] | None = None) -> list[RunningVariant]:
        """Start the variants not already running; return a record for each one asked for.

        On an error, whatever this call started is stopped again before raising.
        """
        chosen = resolve_variants(self._with_targets(variants))
        state = self._prune()
        started: list[str] = []
        try:
            servers = [v for v in chosen if not v.is_proxy and state.find(v.name) is None]
            if servers:
                self._start_servers(servers, started)
            self._stop_stale_proxies()
            for proxy in (v for v in chosen if v.is_proxy and self._state().find(v.name) is None):
                self._start_proxy(proxy, started)
        except BaseException:
            self._stop([r for r in self._state().processes if r.variant in started])
            raise
        final = self._state()
        return [r for v in chosen if (r := final.find(v.name)) is not None]

    def _with_targets(self, variants: Iterable[str] | None) -> list[str] | None:
        """The variants asked for, plus the switch variant and its targets when a switch is configured."""
        if self.switch is None and self.misroute is None:
            return None if variants is None else list(variants)
        names = ([n for n, v in VARIANTS.items() if v.default] if variants is None
                 else [n.strip() for n in variants if n.strip()])
        if SWITCH_VARIANT not in names:
            self.log("--switch/--misroute given: starting the switch variant too")
            names.append(SWITCH_VARIANT)
        targets = [flag_target(self.switch) if self.switch else None,
                   flag_target(self.misroute, misroute=True) if self.misroute else None]
        named = [t for t in targets if t is not None and "://" not in t]
        unknown = [t for t in named if t not in VARIANTS]
        if unknown:
            raise TestbedError(f"switch target(s) {', '.join(unknown)}: unknown variant "
                               f"(valid: {', '.join(VARIANTS)}, or a URL)")
        return names + [t for t in named if t not in names]

    def _resolve(self, target: str) -> str:
        """A switch target: a URL as given, or a running variant's base URL (without /v1)."""
        if "://" in target:
            return target
        record = self._state().find(target)
        if record is None:
            raise TestbedError(f"switch target {target!r} is not running (variants: {', '.join(VARIANTS)})")
        return record.base_url.removesuffix("/v1")

    def _proxy_config(self, variant: Variant, upstream_url: str) -> FaultConfig:
        if variant.name != SWITCH_VARIANT:
            return FaultConfig(upstream=upstream_url, faults=self.faults, seed=self.fault_seed, annotate=True)
        return FaultConfig(
            upstream=upstream_url, faults=[], seed=self.fault_seed, annotate=True,
            switch=parse_switch(self.switch, self._resolve, self.fault_seed) if self.switch else None,
            misroute=parse_misroute(self.misroute, self._resolve) if self.misroute else None,
        )

    def stop(self, variants: Iterable[str]) -> list[RunningVariant]:
        """Stop some variants (by pid, from the state file); return those that were still running."""
        wanted = set(variants)
        return self._stop([r for r in self._state().processes if r.variant in wanted])

    def _stop_stale_proxies(self) -> None:
        """A proxy whose upstream was restarted (on a new port) forwards nowhere: restart it."""
        state = self._state()
        for record in state.processes:
            upstream = state.find(record.serves.get("upstream", ""))
            if record.kind == "fault-proxy" and (
                upstream is None or record.serves.get("upstream_url") != upstream.base_url
            ):
                self.log(f"{record.variant}: its upstream changed, restarting it")
                self._stop([record])

    def _prune(self) -> TestbedState:
        """Forget records whose process is gone (e.g. killed by hand, or a reboot)."""
        state = self._state()
        for record in state.processes:
            if not pid_alive(record.pid, record.start_ticks):
                self.log(f"{record.variant}: pid {record.pid} is gone, forgetting it")
                state = state.without(record.variant)
        save_state(self.run_dir, state)
        return state

    def _launch(
        self,
        variant: Variant,
        kind: Literal["llama-server", "fault-proxy"],
        argv_for: Callable[[int], list[str]],
        env: dict[str, str],
        serves: dict[str, str],
    ) -> tuple[RunningVariant, float]:
        used = [r.port for r in self._state().processes]
        port = free_port(self.settings.host, avoid=used)  # bound once more to check it is free
        argv = argv_for(port)
        log_path = self.run_dir / "logs" / f"{variant.name}.log"
        spawned_at = time.monotonic()
        pid = spawn(argv, log_path, env)
        root = f"http://{self.settings.host}:{port}"
        record = RunningVariant(
            variant=variant.name,
            kind=kind,
            pid=pid,
            start_ticks=process_start_ticks(pid),
            port=port,
            base_url=f"{root}/v1",
            health_url=f"{root}/health",
            model=MODEL_ID,
            log_path=str(log_path),
            argv=argv,
            serves=serves,
            started_at=datetime.now(UTC),
        )
        # Recorded before waiting for health: if `up` dies now, `down` still finds it.
        save_state(self.run_dir, self._state().replace(record))
        self.log(f"{variant.name}: started pid {pid} on port {port}")
        return record, spawned_at

    def _start_servers(self, servers: list[Variant], started: list[str]) -> None:
        build = require_build(self.cache_dir)
        models = {
            v.name: quantized_gguf(
                build.llama_quantize, build.models_dir, v.quantization, pure=v.pure
            )
            for v in servers
        }
        pending = []
        for variant in servers:
            serves = {
                "quantization": variant.quantization_label,
                "template": variant.template_label,
            }
            argv_for = partial(
                llama_server_argv,
                build.llama_server,
                build.templates_dir,
                variant,
                models[variant.name],
                settings=self.settings,
            )
            record, spawned_at = self._launch(
                variant, "llama-server", argv_for, _child_env(), serves
            )
            started.append(variant.name)
            pending.append(
                (record.variant, record.health_url, record.pid, Path(record.log_path), spawned_at)
            )
        self._record_startup(wait_all_healthy(pending, self.startup_timeout_s))

    def _start_proxy(self, variant: Variant, started: list[str]) -> None:
        upstream = self._state().find(variant.upstream or "")
        if upstream is None:
            raise TestbedError(f"{variant.name} needs {variant.upstream} running first")
        config = self._proxy_config(variant, upstream.base_url.removesuffix("/v1"))
        config_path = self.run_dir / f"{variant.name}.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(config.model_dump_json(indent=2))
        faults = ",".join(f"{f.mode.value}:{f.rate:g}" for f in config.faults) or "none"
        changes = {k: v for k, v in (("switch", self.switch), ("misroute", self.misroute)) if v is not None}
        # The proxy runs `python -m parity.testbed.faults`; parity may be importable
        # here only through sys.path tweaks (tests, a source checkout), so say where.
        package_parent = str(Path(__file__).resolve().parents[2])
        record, spawned_at = self._launch(
            variant,
            "fault-proxy",
            lambda port: proxy_argv(config_path, self.settings.host, port),
            _child_env(package_parent),
            {"upstream": upstream.variant, "upstream_url": upstream.base_url, "faults": faults,
             **(changes if variant.name == SWITCH_VARIANT else {})},
        )
        started.append(variant.name)
        pending = [
            (record.variant, record.health_url, record.pid, Path(record.log_path), spawned_at)
        ]
        self._record_startup(wait_all_healthy(pending, self.startup_timeout_s))

    def _record_startup(self, waited: dict[str, float]) -> None:
        state = self._state()
        for name, seconds in waited.items():
            record = state.find(name)
            if record is not None:
                state = state.replace(record.model_copy(update={"startup_s": round(seconds, 2)}))
                self.log(f"{name}: healthy after {seconds:.1f}s")
        save_state(self.run_dir, state)

    def _stop(self, records: Sequence[RunningVariant]) -> list[RunningVariant]:
        # Proxies first, so that nothing is left forwarding to a server that is gone.
        ordered = sorted(records, key=lambda r: r.kind != "fault-proxy")
        stopped = []
        for record in ordered:
            if stop(record.pid, record.start_ticks):
                stopped.append(record)
            save_state(self.run_dir, self._state().without(record.variant))
        return stopped

    def down(self) -> list[RunningVariant]:
        """Stop every process in the state file; return those that were still running."""
        stopped = self._stop(self._state().processes)
        for record in stopped:
            self.log(f"{record.variant}: stopped pid {record.pid}")
        return stopped

    def status(self) -> list[VariantStatus]:
        return [
            VariantStatus(
                record=r,
                alive=(alive := pid_alive(r.pid, r.start_ticks)),
                healthy=alive and probe_health(r.health_url),
            )
            for r in self._state().processes
        ]

    def write_config(self, path: Path) -> Path:
        """A parity.toml for the running endpoints, the reference marked as such."""
        running = [s.record for s in self.status() if s.alive]
        if not any(r.variant == "reference" for r in running):
            raise TestbedError("reference is not running: `parity testbed up` first")
        path = Path(path)
        path.write_text(endpoints_toml(running, self.settings), encoding="utf-8")
        return path
