"""The few text-layer functions the corpus steps use, with plain stand-ins while ``jazari_nlp.text`` lacks them.

The stand-ins are deliberately simple (NFC + whitespace; script by Unicode block; no language guess) so that a
missing text layer shows up as ``und`` languages in the manifest instead of a crash.

Example::

    >>> dominant_script("ⴰⵣⵓⵍ")
    'Tfng'
"""

from __future__ import annotations

import re
import unicodedata

try:
    from jazari_nlp.text import normalize as _normalize
except ImportError:  # pragma: no cover
    _normalize = None
try:
    from jazari_nlp.text import dominant_script as _dominant_script
except ImportError:  # pragma: no cover
    _dominant_script = None
try:
    from jazari_nlp.text import canonical_code as _canonical_code
except ImportError:  # pragma: no cover
    _canonical_code = None

_WS = re.compile(r"[^\S\n]+")
_MATCH_DROP = re.compile(r"[\u064B-\u0652\u0640\W_]+", re.UNICODE)


def normalize(text: str, profile: str = "train") -> str:
    """jazari's ``normalize`` (stand-in: NFC and collapsed spaces; ``match`` also casefolds and drops marks)."""
    if _normalize is not None:
        return _normalize(text, profile=profile)
    text = _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if profile == "match":
        text = _MATCH_DROP.sub(" ", text.casefold()).strip()
    return text


def _block_script(ch: str) -> str:
    o = ord(ch)
    if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0x08A0 <= o <= 0x08FF or 0xFB50 <= o <= 0xFEFF:
        return "Arab"
    if 0x2D30 <= o <= 0x2D7F:
        return "Tfng"
    if ch.isalpha() and (o < 0x0250 or 0x1E00 <= o <= 0x1EFF):
        return "Latn"
    return "other" if ch.isalpha() else ""


def dominant_script(text: str) -> str:
    """The script of most letters: Arab, Latn, Tfng, other, or Zyyy (no letters)."""
    if _dominant_script is not None:
        return _dominant_script(text)
    counts: dict[str, int] = {}
    for ch in text:
        s = _block_script(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return max(counts, key=counts.get) if counts else "Zyyy"


def canonical_code(code: str) -> str:
    """The registry's canonical code (``tzm_Tfng`` → ``zgh_Tfng``); stand-in: unchanged."""
    if _canonical_code is not None:
        try:
            return _canonical_code(code)
        except (KeyError, ValueError):
            return code
    return code


class _ScriptOnly:
    """Stand-in identifier: no language guess, ``und_<script>`` with score 0."""

    def predict(self, text: str, top_k: int = 1):
        from collections import namedtuple

        pred = namedtuple("Prediction", "label score")
        return [pred(f"und_{dominant_script(text)}", 0.0)]

    def predict_batch(self, texts):
        return [self.predict(t)[0] for t in texts]


def load_identifier(cfg):
    """jazari's language identifier for a ``LangIdConfig`` (stand-in when the text layer has none)."""
    try:
        from jazari_nlp.text import load_identifier as _load
    except ImportError:  # pragma: no cover
        return _ScriptOnly()
    return _load(cfg)
