"""``exact_dedup`` and ``near_dedup``: the two global steps, which see every document's signature before
dropping any, so each cuts the pipeline into passes (see :mod:`jazari_nlp.corpus.build`). Their datatrove
classes are in :mod:`jazari_nlp.corpus.dedup_stages`, imported when a build assembles its passes.

Example: ``NearDedup("07_near_dedup", NearDedupStep()).stages(Path("out/_work"))`` → the LSH bucket and
clustering stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from jazari_nlp.corpus.registry import GlobalStep, register_step
from jazari_nlp.schema import StrictModel


class ExactDedupStep(StrictModel):
    """Keep one document per exact key (the text under a normalization profile); others: `exact_duplicate`."""

    key: Literal["match", "train", "raw"] = "match"


class NearDedupStep(StrictModel):
    """MinHash LSH (datatrove's 4 stages). Catches pairs above ~(1/b)^(1/r) Jaccard on word n-grams."""

    n_grams: int = Field(5, ge=1)
    num_buckets: int = Field(14, ge=1)
    hashes_per_bucket: int = Field(8, ge=1)
    seed: int = 1
    precision: Literal[32, 64] = 64


@register_step("exact_dedup", ExactDedupStep, order=60)
class ExactDedup(GlobalStep):
    """One document per key: signatures (this pass), the duplicates found (1 task), dropped (next pass)."""

    default_reason = "exact_duplicate"

    @classmethod
    def uses_match(cls, cfg: ExactDedupStep) -> bool:
        return cfg.key == "match"

    def _config(self):
        from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig

        from jazari_nlp.corpus.match import DEDUP_KEYS

        return ExactDedupConfig(content_getter=DEDUP_KEYS[self.cfg.key])

    def signature(self, work: Path) -> list:
        from datatrove.pipeline.dedup.exact_dedup import ExactDedupSignature

        return [ExactDedupSignature(str(work / "exact_sig"), config=self._config())]

    def stages(self, work: Path) -> list[tuple[str, list, int, str]]:
        from datatrove.pipeline.dedup.exact_dedup import ExactFindDedups

        return [("find duplicates", [ExactFindDedups(str(work / "exact_sig"), str(work / "exact_dups"),
                                                     config=self._config())], 1, "exact_find")]

    def pass_filter(self, work: Path, exclusion_writer):
        from jazari_nlp.corpus.dedup_stages import ExactDuplicateFilter

        return ExactDuplicateFilter(self.name, data_folder=str(work / "exact_dups"), config=self._config(),
                                    exclusion_writer=exclusion_writer)


@register_step("near_dedup", NearDedupStep, order=70)
class NearDedup(GlobalStep):
    """MinHash signatures (this pass), LSH buckets (one task per bucket), clusters (1 task), dropped (next pass)."""

    default_reason = "near_duplicate"

    @classmethod
    def uses_match(cls, cfg: NearDedupStep) -> bool:
        return True

    def _config(self):
        from datatrove.pipeline.dedup.minhash import MinhashConfig
        from datatrove.utils.hashing import HashConfig

        c = self.cfg
        return MinhashConfig(n_grams=c.n_grams, num_buckets=c.num_buckets, hashes_per_bucket=c.hashes_per_bucket,
                             seed=c.seed, hash_config=HashConfig(precision=c.precision))

    def signature(self, work: Path) -> list:
        from jazari_nlp.corpus.dedup_stages import JazariMinhashSignature

        return [JazariMinhashSignature(str(work / "minhash_sig"), config=self._config())]

    def stages(self, work: Path) -> list[tuple[str, list, int, str]]:
        from datatrove.pipeline.dedup.minhash import MinhashDedupCluster

        from jazari_nlp.corpus.dedup_stages import JazariMinhashBuckets

        mh = self._config()
        return [("LSH buckets", [JazariMinhashBuckets(str(work / "minhash_sig"), str(work / "minhash_buckets"),
                                                     config=mh, only_dedup_in_index=False)],
                 self.cfg.num_buckets, "minhash_buckets"),
                ("clusters", [MinhashDedupCluster(str(work / "minhash_buckets"), str(work / "minhash_remove"),
                                                  config=mh)], 1, "minhash_cluster")]

    def pass_filter(self, work: Path, exclusion_writer):
        from jazari_nlp.corpus.dedup_stages import NearDuplicateFilter

        return NearDuplicateFilter(self.name, input_folder=str(work / "minhash_remove"),
                                   exclusion_writer=exclusion_writer)


def near_dedup_estimate(step_cfg: NearDedupStep, n_docs: int) -> dict[str, float]:
    """Disk for signatures and memory for the bucket/cluster stages, in MB. Example: 1M docs → ~950 MB disk."""
    hash_bytes = step_cfg.precision // 8
    per_doc = step_cfg.num_buckets * (step_cfg.hashes_per_bucket * hash_bytes + 4)
    return {"docs": n_docs, "signature_disk_mb": round(n_docs * per_doc / 2**20, 2),
            # the bucket stage holds one signature per file in a heap; the cluster stage ~100 B per duplicate
            "bucket_memory_mb": round(per_doc / step_cfg.num_buckets * 64 / 2**20 + 1, 2),
            "cluster_memory_mb_upper": round(n_docs * 100 / 2**20, 2)}


def signature_docs(folder: Path, step_cfg: NearDedupStep) -> int:
    """How many documents have MinHash signatures in ``folder`` (from the size of bucket 0's files)."""
    per = step_cfg.hashes_per_bucket * step_cfg.precision // 8 + 4
    return sum(p.stat().st_size for p in (folder / "bucket_000").glob("*.minhash.sig")) // per
