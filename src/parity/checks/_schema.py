"""JSON-Schema validation with compiled validators cached per schema.

jsonschema-rs decides (fast, compiled once per schema); the pure-Python
jsonschema explains, and only when something failed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import jsonschema
import jsonschema_rs
import orjson

DRAFTS: dict[str, tuple[Any, type[Any]]] = {
    "draft4": (jsonschema_rs.Draft4Validator, jsonschema.Draft4Validator),
    "draft6": (jsonschema_rs.Draft6Validator, jsonschema.Draft6Validator),
    "draft7": (jsonschema_rs.Draft7Validator, jsonschema.Draft7Validator),
    "draft2019-09": (jsonschema_rs.Draft201909Validator, jsonschema.Draft201909Validator),
    "draft2020-12": (jsonschema_rs.Draft202012Validator, jsonschema.Draft202012Validator),
}


class SchemaCache:
    """Compiled validators by schema, bounded LRU.

    The hot path looks schemas up by object identity (the same Case dict is
    checked on every endpoint and repeat); the entry holds the schema object
    itself so its id cannot be reused while cached. Equal schemas in other
    objects share one compiled validator through their canonical JSON.
    """

    def __init__(self, draft: str = "draft7", maxsize: int = 4096) -> None:
        if draft not in DRAFTS:
            raise ValueError(f"unknown JSON Schema draft {draft!r}; one of {', '.join(DRAFTS)}")
        self.draft = draft
        self._fast_cls, self._slow_cls = DRAFTS[draft]
        self._by_id: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self._by_text: dict[bytes, Any] = {}
        self._maxsize = maxsize

    def validator(self, schema: dict[str, Any]) -> Any:
        hit = self._by_id.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        compiled = self._by_text.get(text)
        if compiled is None:
            try:
                compiled = self._fast_cls(schema)
            except Exception as exc:  # jsonschema_rs raises ValidationError/ValueError variants
                raise InvalidSchema(str(exc)) from None
            if len(self._by_text) >= self._maxsize:
                self._by_text.clear()
            self._by_text[text] = compiled
        self._by_id[id(schema)] = (schema, compiled)
        if len(self._by_id) > self._maxsize:
            self._by_id.popitem(last=False)
        return compiled

    def is_valid(self, schema: dict[str, Any], instance: Any) -> bool:
        return bool(self.validator(schema).is_valid(instance))

    def errors(self, schema: dict[str, Any], instance: Any, limit: int = 3) -> list[str]:
        """Readable messages, e.g. "$.unit: 'kelvin' is not one of ['c', 'f']"."""
        out: list[str] = []
        for err in self._slow_cls(schema).iter_errors(instance):
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            out.append(f"{path}: {err.message}")
            if len(out) >= limit:
                break
        return out


class InvalidSchema(ValueError):
    """The tool's own parameter schema does not compile."""
