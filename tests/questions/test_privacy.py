"""User pseudonyms: keyed, stable, and the salt kept private."""

from __future__ import annotations

import hashlib
import hmac
import logging
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.questions import QuestionLogError
from bot.questions.privacy import UserHasher, load_or_create_salt
from bot.settings import Settings, load_settings


def settings_for(tmp_path: Path, salt: str | None = None) -> Settings:
    return load_settings(question_db=tmp_path / "data" / "questions.db", user_hash_salt=salt)


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("USER_HASH_SALT", raising=False)


def test_hash_is_hmac_sha256_of_the_decimal_id() -> None:
    """The pseudonym is HMAC-SHA256(salt, id) in hex; int and str ids agree."""
    expected = hmac.new(b"pepper", b"123456789012345678", hashlib.sha256).hexdigest()
    hasher = UserHasher("pepper")
    assert hasher.hash(123456789012345678) == expected
    assert hasher.hash("123456789012345678") == expected
    assert "pepper" not in repr(hasher)


def test_different_salts_give_unrelated_hashes() -> None:
    """The same user under another salt cannot be matched."""
    assert UserHasher("a").hash(1) != UserHasher("b").hash(1)
    with pytest.raises(ValueError):
        UserHasher("")


@hypothesis_settings(max_examples=50)
@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=2**64))
def test_distinct_ids_give_distinct_hashes(first: int, second: int) -> None:
    """Distinct user ids never share a pseudonym (and equal ids always do)."""
    hasher = UserHasher("salt")
    assert (hasher.hash(first) == hasher.hash(second)) == (first == second)
    assert len(hasher.hash(first)) == 64


def test_configured_salt_wins_and_creates_no_file(tmp_path: Path) -> None:
    """USER_HASH_SALT is used as is; no salt file is written."""
    assert load_or_create_salt(settings_for(tmp_path, "configured")) == "configured"
    assert not (tmp_path / "data" / "salt").exists()


def test_salt_file_created_once_private_and_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a setting a 0600 salt file is created, reused, and never logged."""
    caplog.set_level(logging.DEBUG)
    settings = settings_for(tmp_path)
    salt = load_or_create_salt(settings)
    path = tmp_path / "data" / "salt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_salt(settings) == salt and len(salt) == 64
    assert salt not in caplog.text
    assert [p.name for p in path.parent.iterdir()] == ["salt"]


def test_loose_salt_file_is_restricted(tmp_path: Path) -> None:
    """A salt file readable by others is kept but narrowed to 0600."""
    path = tmp_path / "data" / "salt"
    path.parent.mkdir()
    path.write_text("existing\n")
    path.chmod(0o644)
    assert load_or_create_salt(settings_for(tmp_path)) == "existing"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_empty_salt_file_is_an_error(tmp_path: Path) -> None:
    """An emptied salt file is refused: a new salt would orphan every stored hash."""
    path = tmp_path / "data" / "salt"
    path.parent.mkdir()
    path.write_text("")
    with pytest.raises(QuestionLogError, match="is empty"):
        load_or_create_salt(settings_for(tmp_path))
