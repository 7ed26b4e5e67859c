"""One heading or prose paragraph of a document, as the Markdown and HTML readers give it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A heading or a paragraph of prose, with where its source lies in the document."""

    text: str  # plain text; line breaks kept
    start: int  # offsets of its source in the document
    end: int
    level: int = 0  # 1-6 for a heading, 0 for a paragraph
    source: str = ""  # a Markdown heading's raw text, from which kramdown derives the id
    explicit_id: str | None = None  # an id set by `{: #id}`, `{#id}` or an HTML attribute
    generated: bool = True  # False for HTML headings: kramdown gives them no automatic id

    @property
    def is_heading(self) -> bool:
        return self.level > 0
