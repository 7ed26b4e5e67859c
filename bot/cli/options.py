"""Option values shared by the command modules, checked as argparse reads them."""

from __future__ import annotations

import argparse
from datetime import date

from bot.retrieval.days import NotADay, parse_day


def day(text: str) -> date:
    """``type=`` for a YYYY-MM-DD option: a bad day is a usage error naming the option."""
    try:
        return parse_day(text)
    except NotADay as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
