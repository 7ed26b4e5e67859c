"""Errors of reading a site that callers report, importable without the readers."""

from __future__ import annotations


class SiteReadFailed(RuntimeError):
    """The site's settings or file list could not be read within the allowance; the
    index in use (if any) stays."""
