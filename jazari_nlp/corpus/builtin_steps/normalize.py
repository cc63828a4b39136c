"""``normalize``: apply a jazari text normalization profile.

Example: ``Normalize("02_normalize", NormalizeStep(profile="train")).filter(doc)`` → ``True``.
"""

from __future__ import annotations

from typing import Literal

from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel
from jazari_nlp.text import normalize


class NormalizeStep(StrictModel):
    """Apply a jazari text normalization profile (``train`` keeps meaning, ``match`` is aggressive)."""

    profile: Literal["train", "match"] = "train"


@register_step("normalize", NormalizeStep, order=20)
class Normalize(CorpusStep):
    """Applies a jazari normalization profile; a document that normalizes to nothing is `empty_after_normalize`."""

    def filter(self, doc) -> bool | tuple[bool, str]:
        # remember: langid's sample and the match text normalize this very text again, and can skip the steps
        # proven to change nothing on it (text.normalize._known_clean)
        doc.text = normalize(doc.text, self.cfg.profile, remember=True)
        return True if doc.text.strip() else (False, "empty_after_normalize")
