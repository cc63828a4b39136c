"""``pii``: replace personal data with typed placeholders and count them (see :mod:`jazari_nlp.corpus.pii`).

Example: ``Pii("08_pii", PiiStep()).filter(Document(text="call 0612345678", id="1"))`` → ``True``.
"""

from __future__ import annotations

from jazari_nlp.corpus.registry import CorpusStep, register_step
from jazari_nlp.schema import StrictModel


class PiiStep(StrictModel):
    """Replace personal data with typed placeholders (<EMAIL>, <PHONE>, <CIN>, <IBAN>, <IP>) and count them."""

    email: bool = True
    phone: bool = True
    cin: bool = True
    iban: bool = True
    ip: bool = True


@register_step("pii", PiiStep, order=80)
class Pii(CorpusStep):
    """Replaces personal data by typed placeholders; counts per type (`pii_EMAIL`...). Never drops."""

    def __init__(self, step_name: str, cfg: PiiStep):
        super().__init__(step_name, cfg)
        self.kinds = tuple(k for k in ("EMAIL", "IBAN", "IP", "PHONE", "CIN") if getattr(cfg, k.lower()))

    def filter(self, doc) -> bool:
        from jazari_nlp.corpus.pii import scrub

        doc.text, counts = scrub(doc.text, self.kinds)
        for kind, n in counts.items():
            self.stat_update(f"pii_{kind}", value=n)
        if counts:
            doc.metadata["pii_replaced"] = sum(counts.values())
            self.stat_update("documents_with_pii")
        return True
