"""Discord's message, embed, component and command limits.

Each check returns Discord's nested ``errors`` object (empty when valid) so the server can
answer ``400 {"code": 50035, "message": "Invalid Form Body", "errors": ...}`` like Discord.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .models import JSON

log = logging.getLogger(__name__)

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
ROWS_MAX = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_MAX = 100
COMPONENTS_V2 = 1 << 15
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")


def _err(code: str, message: str) -> JSON:
    return {"_errors": [{"code": code, "message": message}]}


def _too_long(limit: int) -> JSON:
    return _err("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _put(errors: JSON, path: list[str | int], value: JSON) -> None:
    node = errors
    for key in path[:-1]:
        node = node.setdefault(str(key), {})
    node[str(path[-1])] = value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def check_embeds(embeds: list[JSON], errors: JSON) -> None:
    """Per-field embed limits plus the 6000-character total across the message."""
    if len(embeds) > EMBEDS_MAX:
        _put(errors, ["embeds"], _err("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
    total = 0
    for i, embed in enumerate(embeds):
        here: list[str | int] = ["embeds", i]
        for key, limit in (("title", 256), ("description", 4096)):
            total += _length(embed.get(key))
            if _length(embed.get(key)) > limit:
                _put(errors, [*here, key], _too_long(limit))
        footer = embed.get("footer") or {}
        total += _length(footer.get("text"))
        if _length(footer.get("text")) > 2048:
            _put(errors, [*here, "footer", "text"], _too_long(2048))
        author = embed.get("author") or {}
        total += _length(author.get("name"))
        if _length(author.get("name")) > 256:
            _put(errors, [*here, "author", "name"], _too_long(256))
        fields = embed.get("fields") or []
        if len(fields) > 25:
            _put(errors, [*here, "fields"], _too_long(25))
        for j, fld in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = fld.get(key)
                total += _length(value)
                if not value:
                    _put(errors, [*here, "fields", j, key], _err("BASE_TYPE_REQUIRED", "Required"))
                elif _length(value) > limit:
                    _put(errors, [*here, "fields", j, key], _too_long(limit))
    if total > EMBED_TOTAL_MAX:
        _put(
            errors,
            ["embeds"],
            _err("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"),
        )


def check_components(components: list[JSON], flags: int, errors: JSON) -> None:
    """Light validation of classic action rows (components v2 layouts are only size-checked)."""
    seen: set[str] = set()
    if not flags & COMPONENTS_V2 and len(components) > ROWS_MAX:
        _put(errors, ["components"], _too_long(ROWS_MAX))
    for i, row in enumerate(components):
        children = row.get("components", [])
        if row.get("type") == 1 and len(children) > BUTTONS_PER_ROW:
            _put(errors, ["components", i, "components"], _too_long(BUTTONS_PER_ROW))
        items = children if row.get("type") == 1 else [row]
        for j, item in enumerate(items):
            path: list[str | int] = ["components", i, "components", j]
            custom_id = item.get("custom_id")
            if custom_id is not None:
                if len(str(custom_id)) > CUSTOM_ID_MAX:
                    _put(errors, [*path, "custom_id"], _too_long(CUSTOM_ID_MAX))
                if custom_id in seen:
                    _put(
                        errors,
                        [*path, "custom_id"],
                        _err("COMPONENT_CUSTOM_ID_DUPLICATED", "Duplicate"),
                    )
                seen.add(custom_id)
            if item.get("type") == 2:
                is_link = item.get("style") == 5
                if is_link and not item.get("url"):
                    _put(errors, [*path, "url"], _err("BASE_TYPE_REQUIRED", "Required"))
                if not is_link and custom_id is None and item.get("style") != 6:
                    _put(errors, [*path, "custom_id"], _err("BASE_TYPE_REQUIRED", "Required"))
                if _length(item.get("label")) > 80:
                    _put(errors, [*path, "label"], _too_long(80))


def check_message(payload: JSON, *, has_files: bool, partial: bool) -> JSON:
    """All message limits; ``partial`` (edits) skips the "empty message" rule."""
    errors: JSON = {}
    content = payload.get("content")
    if _length(content) > CONTENT_MAX:
        _put(errors, ["content"], _too_long(CONTENT_MAX))
    check_embeds(payload.get("embeds") or [], errors)
    check_components(payload.get("components") or [], int(payload.get("flags") or 0), errors)
    empty = not (content or payload.get("embeds") or payload.get("components") or has_files)
    if not partial and empty and not payload.get("poll"):
        errors["_empty"] = True
    return errors


def check_choices(choices: list[JSON]) -> JSON:
    """Autocomplete results: at most 25 choices, names 1-100 characters."""
    errors: JSON = {}
    if len(choices) > 25:
        _put(errors, ["data", "choices"], _too_long(25))
    for i, choice in enumerate(choices):
        if not 1 <= _length(choice.get("name")) <= 100:
            _put(errors, ["data", "choices", i, "name"], _too_long(100))
        if "value" not in choice:
            _put(errors, ["data", "choices", i, "value"], _err("BASE_TYPE_REQUIRED", "Required"))
    return errors


def check_commands(commands: list[JSON]) -> JSON:
    """Application command shape: names, descriptions, option counts and ordering."""
    errors: JSON = {}
    if len(commands) > 100:
        _put(errors, ["_errors"], _too_long(100))
    for i, cmd in enumerate(commands):
        _check_command(cmd, [i], errors, top=True)
    return errors


def _check_command(cmd: JSON, path: list[str | int], errors: JSON, *, top: bool) -> None:
    name = str(cmd.get("name", ""))
    chat_input = cmd.get("type", 1) == 1 or not top
    if chat_input and (not _NAME_RE.match(name) or name != name.lower()):
        _put(errors, [*path, "name"], _err("APPLICATION_COMMAND_INVALID_NAME", "Invalid name"))
    desc = str(cmd.get("description", ""))
    if chat_input and not 1 <= len(desc) <= 100:
        _put(errors, [*path, "description"], _too_long(100))
    options = cmd.get("options") or []
    if len(options) > 25:
        _put(errors, [*path, "options"], _too_long(25))
    optional_seen = False
    for j, opt in enumerate(options):
        if opt.get("type") in (1, 2):
            _check_command(opt, [*path, "options", j], errors, top=False)
            continue
        if not _NAME_RE.match(str(opt.get("name", ""))):
            _put(errors, [*path, "options", j, "name"], _err("INVALID_NAME", "Invalid name"))
        if opt.get("required"):
            if optional_seen:
                _put(
                    errors,
                    [*path, "options"],
                    _err("APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options first"),
                )
        else:
            optional_seen = True
        if len(opt.get("choices") or []) > 25:
            _put(errors, [*path, "options", j, "choices"], _too_long(25))
        if opt.get("autocomplete") and opt.get("choices"):
            _put(errors, [*path, "options", j], _err("AUTOCOMPLETE_AND_CHOICES", "Not both"))
