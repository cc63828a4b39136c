"""``repair``: fix mojibake (ftfy), drop control characters, reject empty or oversized documents.

Example: ``Repair("01_repair", RepairStep()).filter(Document(text="a\\x00b", id="1"))`` → ``True`` (text ``ab``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field

from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")


class RepairStep(StrictModel):
    """Fix mojibake (ftfy), drop control characters and lone surrogates, reject empty or oversized documents."""

    fix_mojibake: bool = True
    max_chars: int = Field(1_000_000, gt=0, description="Longer documents are rejected as `too_long`.")
    min_chars: int = Field(1, ge=0, description="Shorter documents (after repair) are rejected as `empty`.")


@register_step("repair", RepairStep, order=10)
class Repair(CorpusStep):
    """Rejects oversized and empty documents; fixes mojibake (ftfy, only where it looks broken); drops control chars."""

    def filter(self, doc) -> bool | tuple[bool, str]:
        if len(doc.text) > self.cfg.max_chars:
            return False, "too_long"
        text = doc.text
        if self.cfg.fix_mojibake:
            import ftfy
            from ftfy.badness import is_bad

            sample = text[:20000]
            if _mojibake_hint().search(sample) and is_bad(sample):
                fixed = ftfy.fix_text(text, normalization="NFC")
                if fixed != text:
                    self.stat_update("mojibake_fixed")
                    text = fixed
        if _CONTROL.search(text):
            text = _CONTROL.sub("", text)
            self.stat_update("control_chars_removed")
        doc.text = text
        if len(text.strip()) < self.cfg.min_chars:
            return False, "empty"
        return True


@lru_cache(maxsize=1)
def _mojibake_hint() -> re.Pattern[str]:
    """Every non-ASCII character ftfy's ``BADNESS_RE`` can match on. Each of its alternatives needs at least
    one of them, so a text without any is never "bad": most Arabic, Tifinagh and ASCII text skips the big
    regex. Example: ``_mojibake_hint().search("ⴰⵣⵓⵍ")`` → ``None``."""
    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES

    literal = sorted({c for c in BADNESS_RE.pattern if ord(c) >= 0x80})
    return re.compile("[" + "".join(MOJIBAKE_CATEGORIES.values()) + "".join(literal) + "]")
