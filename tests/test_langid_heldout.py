"""The shipped language identifier on the recipe's held-out test split (``test_holdout`` in configs/langid.yaml:
never trained on, never used to choose a setting). Floors are the measured figures (data card) minus a margin;
the issue's targets that the model meets are asserted at the target itself."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.exists(), reason=f"shared data not found at {SHARED} (it exists "
                                "only in the developers' workplace)")


@pytest.fixture(scope="module")
def figures():
    from jazari_nlp.text.langid import load_identifier
    from jazari_nlp.text.langid_train import load_train_config
    from jazari_nlp.text.lid_eval import lid_targets

    return lid_targets(load_train_config(ROOT / "configs" / "langid.yaml"), load_identifier(), "test")


def test_heldout_targets_met(figures):
    assert figures["zgh_Tfng F1 (FLORES, all varieties)"] >= 0.98  # measured 1.000
    assert figures["kab_Latn F1 (FLORES, all varieties)"] >= 0.98  # measured 0.993
    assert figures["ary_Latn R (afrisenti/ary)"] >= 0.92  # measured 0.956


def test_heldout_arabic_floors(figures):
    assert figures["ary_Arab F1 (FLORES Arabic)"] >= 0.85  # measured 0.877 (target 0.95: not met)
    assert figures["arb_Arab F1 (FLORES Arabic)"] >= 0.48  # measured 0.511 (target 0.80: not met)
    assert figures["arb_Arab F1 (FLORES Arabic without Najdi)"] >= 0.64  # measured 0.671
    # two in three Najdi sentences are the MSA one verbatim: the MSA F1 any identifier can reach with them
    assert 0.70 <= figures["arb_Arab F1 ceiling (Najdi verbatim MSA)"] <= 0.76  # measured 0.732
    assert figures["ary_Arab R (afrisenti/ary)"] >= 0.95  # Arabic-script Darija tweets: measured 0.978


def test_heldout_stage_lifts_darija():
    """The Arabic stage is what lifts Darija on unseen FLORES text: fastText alone is clearly lower."""
    from jazari_nlp.text.langid import LangIdConfig, load_identifier
    from jazari_nlp.text.langid_train import load_train_config
    from jazari_nlp.text.lid_eval import lid_targets

    cfg = load_train_config(ROOT / "configs" / "langid.yaml")
    alone = lid_targets(cfg, load_identifier(LangIdConfig(arabic_stage=False)), "test")
    staged = lid_targets(cfg, load_identifier(), "test")
    assert staged["ary_Arab F1 (FLORES Arabic)"] >= alone["ary_Arab F1 (FLORES Arabic)"] + 0.06  # 0.877 vs 0.781
