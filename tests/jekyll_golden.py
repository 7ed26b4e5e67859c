"""What real Jekyll makes of a site: the golden reference for URLs, dates and heading ids.

The bot derives article URLs, dates and `#fragment` anchors itself, from the Markdown sources,
without running Jekyll. Whether it got them right can only be judged against Jekyll, so this
module builds a site with the real thing (Debian's `jekyll` package: Jekyll 4.3 with kramdown
2.4) and reports, for every Markdown or HTML document that has front matter, what Jekyll
decided: its URL, its date, its title and the ids kramdown gave its headings; for a post, also
the HTML kramdown converted its body to, which `page_blocks` reduces to the text a reader sees.

It works by copying the site to a scratch folder and dropping a small plugin into that copy's
`_plugins/`. The plugin registers Jekyll hooks: after a page or document is converted (before
any layout wraps it) it records `url`, `relative_path`, `date`, `title` and the `id`s of the
`<h1>`…`<h6>` in the converted HTML (and a post's whole converted HTML); after the site is
written it dumps them as JSON. Nothing is parsed or re-implemented on the Python side, so the
answers are Jekyll's own; only reducing HTML to text happens here, with the standard library's
HTML parser, not the bot's.

The build runs without `--safe` (safe mode would refuse the plugin), with `JEKYLL_ENV=production`
and with `TZ=UTC`. Jekyll replaces `TZ` with the site's `timezone:` when one is configured, so
`TZ=UTC` only decides dates for sites that configure none; without it the golden dates would
depend on the clock settings of whichever machine ran the test.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

#: How long one `jekyll build` may take; the fixture sites build in about a second.
BUILD_TIMEOUT_S = 120

#: Where, inside the scratch copy, the plugin writes its JSON and the build log is kept.
#: Names starting with "_" are never read by Jekyll as content.
DUMP_NAME = "_golden.json"
LOG_NAME = "_golden.log"

_PLUGIN_NAME = "golden_dump.rb"

# The Jekyll plugin written into the scratch copy. Kept here rather than in a .rb file so that
# the helper is one self-contained module.
_PLUGIN = r"""# frozen_string_literal: true
# Written by tests/jekyll_golden.py into a scratch copy of a fixture site; not part of the site.
require "cgi"
require "json"

module GoldenDump
  HEADING = /<h[1-6]\b([^>]*)>/i.freeze
  ID_ATTR = /(?:\A|\s)id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i.freeze
  RECORDS = {}

  # Only Markdown and HTML sources: a page with front matter but another extension (a feed,
  # a stylesheet) is not an article, and generated pages have no source file at all.
  def self.wanted?(site, item)
    return false if item.is_a?(Jekyll::PageWithoutAFile)

    ext = File.extname(item.relative_path).downcase
    markdown = site.config["markdown_ext"].to_s.split(",").map { |e| ".#{e.strip.downcase}" }
    (markdown + %w(.html .htm)).include?(ext)
  end

  def self.heading_ids(html)
    html.scan(HEADING).filter_map do |(attrs)|
      m = ID_ATTR.match(attrs)
      m && CGI.unescapeHTML(m[1] || m[2] || m[3])
    end
  end

  def self.record(item)
    site = item.site
    return unless wanted?(site, item)

    document = item.is_a?(Jekyll::Document)
    post = document && item.collection.label == "posts"
    kind = post ? "post" : (document ? "document" : "page")
    title = item.data["title"]
    RECORDS[item.relative_path] = {
      "path" => item.relative_path,
      "url" => item.url,
      "heading_ids" => heading_ids(item.content.to_s),
      "kind" => kind,
      # Jekyll has already moved the date into the site's timezone (Utils.parse_date).
      "date" => post ? item.date.strftime("%Y-%m-%d") : nil,
      "title" => title.nil? ? nil : title.to_s,
      # What kramdown made of a post's body, before any layout wraps it.
      "html" => post ? item.content.to_s : nil,
    }
  end
end

Jekyll::Hooks.register [:documents, :pages], :post_convert do |item|
  GoldenDump.record(item)
end

Jekyll::Hooks.register :site, :post_write do |site|
  dump = {
    "site" => { "url" => site.config["url"].to_s, "baseurl" => site.config["baseurl"].to_s },
    "documents" => GoldenDump::RECORDS.values.sort_by { |r| r["path"] },
  }
  File.write(ENV.fetch("GOLDEN_DUMP_OUT"), JSON.pretty_generate(dump))
end
"""


@dataclass(frozen=True)
class BuiltDocument:
    """One page or document as Jekyll built it.

    `path` is the source path relative to the site root ("ja/news/_posts/2024-01-01-foo.md");
    `url` is Jekyll's `page.url`, relative and without `baseurl`; `heading_ids` are the `id`s
    of `<h1>`…`<h6>` in the converted content (before the layout), in document order, headings
    without an id left out; `kind` is "post", "page", or "document" for a document of another
    collection; `date` is a post's date as "%Y-%m-%d" in the site's timezone (None for the
    rest); `title` is the front matter's title (Jekyll derives one from the file name for posts
    that have none); `html` is a post's body as kramdown converted it, before the layout (None
    for the rest).
    """

    path: str
    url: str
    heading_ids: tuple[str, ...]
    kind: str
    date: str | None
    title: str | None
    html: str | None = None


class JekyllBuildError(RuntimeError):
    """`jekyll build` failed, timed out, or wrote no dump; the message carries its output."""


@functools.cache
def jekyll_available() -> bool:
    """Whether a working `jekyll` command is on PATH (tests skip when it is not)."""
    exe = shutil.which("jekyll")
    if exe is None:
        return False
    try:
        done = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.startswith("jekyll ")


def build_site(site: Path, work: Path) -> dict[str, BuiltDocument]:
    """Build a copy of `site` in `work` with real Jekyll; map each source path to its result.

    `work` must be absent or empty; the copy, the plugin, the output (`work/_site`), the dump
    (`work/_golden.json`) and the build log (`work/_golden.log`) are all left there.
    """
    exe = shutil.which("jekyll")
    if exe is None:
        raise JekyllBuildError("jekyll is not installed (Debian: apt-get install jekyll)")
    if work.exists() and any(work.iterdir()):
        raise ValueError(f"{work} is not empty")
    shutil.copytree(
        site, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns("_site", ".jekyll-cache")
    )
    plugins = work / "_plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / _PLUGIN_NAME).write_text(_PLUGIN, encoding="utf-8")
    dump = work / DUMP_NAME
    env = {
        **os.environ,
        "JEKYLL_ENV": "production",
        "GOLDEN_DUMP_OUT": str(dump),
        "TZ": "UTC",
        "LC_ALL": "C.UTF-8",
    }
    cmd = [exe, "build", "--source", str(work), "--destination", str(work / "_site")]
    try:
        done = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise JekyllBuildError(f"jekyll build of {site} took over {BUILD_TIMEOUT_S} s") from exc
    log = done.stdout + done.stderr
    (work / LOG_NAME).write_text(log, encoding="utf-8")
    if done.returncode != 0 or not dump.is_file():
        raise JekyllBuildError(f"jekyll build of {site} failed ({done.returncode}):\n{log}")
    documents = _load_dump(dump)["documents"]
    if not isinstance(documents, list):
        raise JekyllBuildError(f"{dump}: 'documents' is not a list")
    built = (_document(raw) for raw in documents)
    return {doc.path: doc for doc in built}


def site_config(site: Path) -> tuple[str, str]:
    """`url` and `baseurl` from a site's `_config.yml` ("" when unset), as Jekyll reads them.

    Absolute URLs are `url + baseurl + BuiltDocument.url`; a test compares the bot's with these.
    """
    config: Any = yaml.safe_load((site / "_config.yml").read_text(encoding="utf-8")) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{site / '_config.yml'} is not a mapping")
    return _text(config.get("url")), _text(config.get("baseurl"))


def jekyll_site_config(work: Path) -> tuple[str, str]:
    """`url` and `baseurl` as the build in `work` saw them (to check `site_config` against)."""
    raw = _load_dump(work / DUMP_NAME)["site"]
    if not isinstance(raw, dict):
        raise JekyllBuildError(f"{work / DUMP_NAME}: 'site' is not an object")
    return _text(raw.get("url")), _text(raw.get("baseurl"))


# Jekyll logs "<topic>: <message>" with the topic right-aligned ("Build Warning:",
# "Deprecation:", "Conflict:", "Liquid Exception:", "Error:"); Ruby itself writes
# "<file>:<line>: warning: ...".
_WARNING_LINE = re.compile(
    r"^\s*(?:[\w ]*warning|deprecation|conflict|[\w ]*error|[\w ]*exception)\s*:|: warning:",
    re.IGNORECASE,
)


def jekyll_warnings(work: Path) -> list[str]:
    """Lines of the build log in `work` that report a warning, deprecation, conflict or error.

    A fixture site that builds with warnings (a missing include, a conflicting URL) gives a
    golden reference that is not what the real site gets, so the smoke test wants none.
    """
    log = (work / LOG_NAME).read_text(encoding="utf-8")
    return [line for line in log.splitlines() if _WARNING_LINE.search(line)]


def _load_dump(path: Path) -> dict[str, Any]:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise JekyllBuildError(f"{path} is not a JSON object")
    return data


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _optional_str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise JekyllBuildError(f"{key!r} is not a string or null: {raw!r}")
    return value


def _document(raw: object) -> BuiltDocument:
    if not isinstance(raw, dict):
        raise JekyllBuildError(f"a dumped document is not an object: {raw!r}")
    path, url, kind = raw.get("path"), raw.get("url"), raw.get("kind")
    ids = raw.get("heading_ids")
    if not (isinstance(path, str) and isinstance(url, str) and isinstance(kind, str)):
        raise JekyllBuildError(f"path, url or kind missing: {raw!r}")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise JekyllBuildError(f"heading_ids is not a list of strings: {raw!r}")
    return BuiltDocument(
        path=path,
        url=url,
        heading_ids=tuple(ids),
        kind=kind,
        date=_optional_str(raw, "date"),
        title=_optional_str(raw, "title"),
        html=_optional_str(raw, "html"),
    )


# Elements whose text the bot does not read as prose (bot/corpus/html_text.py hides the same:
# code blocks, tables, scripts and styles), so the page's text leaves them out too.
_HIDDEN_ELEMENTS = frozenset({"pre", "table", "script", "style", "svg", "noscript", "template"})
# Elements that start a new block of text on the page (kramdown's block-level output).
_BLOCK_ELEMENT_NAMES = (
    "address article aside blockquote body dd details div dl dt figcaption figure footer form"
    " h1 h2 h3 h4 h5 h6 header hr li main nav ol p section summary td th tr ul br"
)
_BLOCK_ELEMENTS = frozenset(_BLOCK_ELEMENT_NAMES.split())
_VOID_ELEMENTS = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "col", "source"})
# kramdown's typographic output (smart quotes, dashes, ellipsis, guillemets) spelled as typed.
_TYPOGRAPHY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2026": "...",
        "\u2014": "---",
        "\u2013": "--",
        "\u00ab": "<<",
        "\u00bb": ">>",
    }
)


class _PageText(HTMLParser):
    """Collects the text of each block element; hidden elements and footnote marks skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._text: list[str] = []
        self._hidden: list[str] = []  # open elements whose text is skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden or _is_hidden(tag, dict(attrs)):
            if tag not in _VOID_ELEMENTS:
                self._hidden.append(tag)
        elif tag in _BLOCK_ELEMENTS:
            self.flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._hidden and tag in _BLOCK_ELEMENTS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag in self._hidden:
                while self._hidden.pop() != tag:
                    pass
        elif tag in _BLOCK_ELEMENTS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._text.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self._text).split())
        if text:
            self.blocks.append(text)
        self._text = []


def _is_hidden(tag: str, attrs: dict[str, str | None]) -> bool:
    """Not prose: code, tables, scripts; a footnote's superscript number and its back link."""
    if tag in _HIDDEN_ELEMENTS:
        return True
    if tag == "sup" and attrs.get("role") == "doc-noteref":
        return True
    return tag == "a" and attrs.get("role") == "doc-backlink"


def page_blocks(html: str) -> list[str]:
    """The text of each block (paragraph, list item, heading...) of converted HTML, in order.

    Images have no text (the reader sees the picture); white space is collapsed.
    """
    parser = _PageText()
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.blocks


def normalise(text: str) -> str:
    """Text as compared with the page: NFKC (full-width forms), kramdown's typographic
    characters spelled as typed, and no white space at all (HTML collapses it, Japanese
    has none, and a line break in the source is a space on the page)."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return "".join(text.split())


FIXTURE_SITES = Path(__file__).resolve().parent / "data" / "sites"


@functools.cache
def built_fixture_site(name: str) -> tuple[Path, dict[str, BuiltDocument]]:
    """A fixture site of `tests/data/sites/` as `jekyll build` makes it (its work folder and
    documents), built once per test session: every golden comparison reads the same build."""
    work = Path(tempfile.mkdtemp(prefix=f"jekyll-{name}-")) / name
    return work, build_site(FIXTURE_SITES / name, work)
