"""jazari_nlp: an offline-first toolkit for the languages of Morocco.

Darija (Arabic script and Arabizi), Modern Standard Arabic and Amazigh (Tifinagh, Latin and Arabic scripts).

Example::

    >>> import jazari_nlp as jz
    >>> jz.normalize("ⴰⵣⵓⵍ  ⴼⵍⵍⴰⵡⵏ")
    'ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ'
"""

from __future__ import annotations

from jazari_nlp._version import __version__
from jazari_nlp.offline import disable_telemetry

disable_telemetry()  # the library never phones home either (not only the CLI): see jazari_nlp/offline.py

# The text layer and the model wrappers are light (torch is imported inside functions); exported at the top level.
from jazari_nlp.models import LM, load_lm  # noqa: E402
from jazari_nlp.text import *  # noqa: E402,F401,F403
from jazari_nlp.text import __all__ as _text_all  # noqa: E402

__all__ = ["__version__", "LM", "load_lm", *_text_all]
