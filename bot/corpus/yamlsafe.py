"""YAML for front matter and `_config.yml`, bounded so a hostile file cannot exhaust memory.

PyYAML's safe loader shares aliased nodes, so a few hundred bytes of nested aliases load
quickly but expand to billions of values as soon as anything walks or prints them (a title
that is a list of lists of lists...). Nesting thousands deep overflows the composer's
recursion. Both are refused here with a reason, before any other code sees the value.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 64  # real front matter and site configs nest a handful of levels
MAX_VALUES = 100_000  # scalars and collections once every alias is expanded


class YamlRefused(ValueError):
    """The document is valid YAML but too deep or too large once expanded."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting beyond MAX_DEPTH while composing (no recursion error)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """The document's value; raises yaml.YAMLError or YamlRefused (both name the problem)."""
    try:
        value = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise YamlRefused("nested too deeply") from None
    _check_expanded_size(value)
    return value


def _check_expanded_size(value: Any) -> None:
    """Walk the value as a consumer would (aliases expanded), stopping at MAX_VALUES."""
    pending = [value]
    seen = 0
    while pending:
        item = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise YamlRefused(f"more than {MAX_VALUES} values once aliases are expanded")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set):
            pending.extend(item)
