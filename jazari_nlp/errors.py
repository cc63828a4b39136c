"""The errors a user can fix (a bad config, input that cannot be used, a damaged model file).

Every such error derives from :class:`JazariError`; its message names the file or key and says what to do.
The command line prints it as ``error: <message>`` and exits with code 2; anything else is a bug (exit 1, with
a traceback to report).

Example::

    try:
        run_experiment("exp.yaml")
    except JazariError as e:
        print(f"fix this: {e}")
"""

from __future__ import annotations


class JazariError(Exception):
    """Base of the errors a user can fix; the message says which file/key and how."""


class InputError(JazariError, ValueError):
    """Input that cannot be used: no text to train or evaluate on, a file jazari cannot read, a bad manifest."""


__all__ = ["JazariError", "InputError"]
