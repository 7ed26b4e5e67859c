"""The one error type a command raises for a problem the user can fix.

:func:`bot.cli.main` prints it as one line (``error: …``) and exits with code 2; the
command modules raise it without importing the package that loads them.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""
