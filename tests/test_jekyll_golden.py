"""Smoke test of the Jekyll golden helper on the real fixture sites under tests/data/sites/.

If this fails, every comparison built on `build_site` is void: a post Jekyll did not build,
a relative URL, or heading ids that never reach the dump would make the golden answers wrong
rather than the bot's. Skipped where Debian's `jekyll` is not installed (.ci/run installs it).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.jekyll_golden import (
    build_site,
    jekyll_available,
    jekyll_site_config,
    jekyll_warnings,
    site_config,
)

SITES_DIR = Path(__file__).resolve().parent / "data" / "sites"
SITES = sorted(config.parent.name for config in SITES_DIR.glob("*/_config.yml"))

#: Each fixture site builds in about a second; this only catches a build gone badly wrong.
BUILD_BUDGET_S = 30.0


def _source_posts(site: Path) -> set[str]:
    """Every file under any `_posts` folder of the site, as a path relative to its root."""
    return {
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and "_posts" in p.relative_to(site).parts
    }


@pytest.mark.parametrize("name", SITES)
def test_fixture_site_builds_with_jekyll(name: str, tmp_path: Path) -> None:
    if not jekyll_available():
        pytest.skip("jekyll is not installed (Debian: apt-get install jekyll)")
    site = SITES_DIR / name
    work = tmp_path / "work"

    start = time.perf_counter()
    docs = build_site(site, work)
    elapsed = time.perf_counter() - start

    assert elapsed < BUILD_BUDGET_S, f"{name}: jekyll build took {elapsed:.1f} s"
    assert jekyll_warnings(work) == []

    posts = {path: doc for path, doc in docs.items() if doc.kind == "post"}
    assert set(posts) == _source_posts(site)
    assert len(posts) >= 25
    assert any(doc.kind == "page" for doc in docs.values())

    for doc in docs.values():
        assert doc.url.startswith("/"), doc
        assert (doc.date is None) == (doc.kind != "post"), doc
    for doc in posts.values():
        assert doc.date is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc.date), doc
        assert doc.title, doc

    assert any(doc.heading_ids for doc in posts.values())
    assert all(all(doc.heading_ids) for doc in docs.values())

    assert site_config(site) == jekyll_site_config(work)
