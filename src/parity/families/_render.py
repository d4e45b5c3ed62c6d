"""Render an official chat template into exactly what the model emits for one assistant turn.

The emitted text is the template's rendering of the conversation with that
turn, minus its rendering up to the generation prompt: the tokens the model
produced, markers and end-of-turn token included. Used by the tests (every
family entry is checked against its templates) and by the testbed's fault
proxy (a leak is the family's real syntax, never a hand-typed imitation).
The environment follows Hugging Face's ``apply_chat_template``: sandboxed,
trim_blocks, lstrip_blocks, loop controls, ``raise_exception``, ``tojson``
without ASCII escaping; not the immutable sandbox, since Kimi's templates
append to lists as llama.cpp's template engine allows.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template
from jinja2.ext import loopcontrols
from jinja2.sandbox import SandboxedEnvironment


class TemplateError(ValueError):
    """The template refused the conversation (e.g. parallel calls where it allows one)."""


def _raise(message: str) -> None:
    raise TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime(2026, 1, 15).strftime(fmt)
    return env


_ENV = _env()


@lru_cache(maxsize=64)
def _compile(source: str) -> Template:
    return _ENV.from_string(source)


def render(source: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
           add_generation_prompt: bool, **kwargs: Any) -> str:
    try:
        return _compile(source).render(messages=messages, tools=tools,
                                       add_generation_prompt=add_generation_prompt,
                                       bos_token="", eos_token="</s>", **kwargs)
    except TemplateError:
        raise
    except Exception as exc:  # a template's own failure, whatever jinja2 raised
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None


def emitted(source: str, user: str, assistant: dict[str, Any], tools: list[dict[str, Any]] | None,
            **kwargs: Any) -> str:
    """What the model emitted for ``assistant`` after one user turn (end-of-turn token included)."""
    history = [{"role": "user", "content": user}]
    prompt = render(source, history, tools, True, **kwargs)
    full = render(source, [*history, {"role": "assistant", **assistant}], tools, False, **kwargs)
    n = 0
    for a, b in zip(prompt, full, strict=False):
        if a != b:
            break
        n += 1
    # Never cut inside a tag: "<|assistant|><think>" and "<|assistant|></think>" share "<".
    shared = full[:n]
    opened = max(shared.rfind("<"), shared.rfind("["))
    if opened > max(shared.rfind(">"), shared.rfind("]")):
        n = opened
    return full[n:]
