"""Snapshot files that need no `Index`: manifest rows, synced JSON, optional columns."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.corpus.articles import Article
from bot.index.mapped import load_mapped
from bot.index.sentence_units import Units
from bot.index.texts import TextColumn


def write_json_synced(path: Path, content: Any) -> None:
    """Write JSON and sync it: the manifest goes last, after every column is on disk."""
    with path.open("w", encoding="utf-8") as out:
        json.dump(content, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())


def optional_columns(folder: Path) -> dict[str, Any]:
    """Columns an older snapshot may lack; `Index` derives what is missing."""
    out: dict[str, Any] = {}
    for name in ("sentence_starts", "sentence_asks"):
        if (folder / f"{name}.npy").is_file():
            out[name] = load_mapped(folder / f"{name}.npy")
    units = Units.load(folder)
    if units is not None:
        out["units"] = units
    texts = TextColumn.load(folder)
    if texts is not None:
        out["sentence_texts"] = texts
    return out


def article_row(article: Article) -> dict[str, Any]:
    """The manifest row of an article (without its body)."""
    row = asdict(article)
    row["date"] = article.date.isoformat() if article.date is not None else None
    row["body"] = ""  # passages carry the text; the body is not needed after splitting
    return row


def article_from_row(row: dict[str, Any]) -> Article:
    """The article a manifest row describes (its body left empty)."""
    row = dict(row)
    row["date"] = datetime.fromisoformat(row["date"]) if row["date"] is not None else None
    row["categories"] = tuple(row["categories"])
    row["tags"] = tuple(row["tags"])
    return Article(**row)
