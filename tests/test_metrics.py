"""Metrics: right numbers on Arabic script and Tifinagh, lm-eval's definitions, evaluate modules loaded
offline."""

import csv
import math
import re
import subprocess
import sys

import pytest

from jazari_nlp.errors import InputError
from jazari_nlp.evaluation import metrics as M
from jazari_nlp.evaluation.metrics import aggregation as agg
from jazari_nlp.evaluation.metrics import text

AR = "السلام عليكم، كيداير؟"
TFNG = "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ, ⵎⴰⵏⵣⴰⴽⵉⵏ?"

# (reference, prediction) pairs written for these tests: Darija, Tifinagh, Arabizi, French
PAIRS = [
    ("الدار كبيرة بزاف و فيها جوج بيوت", "الدار كبيرة و فيها بيتين"),
    ("ⴰⵎⵓⴷⴷⵓ ⵏ ⵓⵙⴳⴳⵯⴰⵙ ⴰⴷ ⵉⴳⴰ ⵉⴼⵓⵍⴽⵉ", "ⴰⵎⵓⴷⴷⵓ ⴰⴷ ⵉⴳⴰ ⵉⴼⵓⵍⴽⵉ ⴱⵣⵣⴰⴼ"),
    ("ghadi nmchi l souk ghedda m3a sa7bi", "ghadi nmchi l souk m3a sahbi"),
    ("la maison est grande et belle", "la maison est très belle"),
    ("chokran bzaf 3la lmousa3ada dyalk", "chokran 3la lmousa3ada"),
]


def _lm_eval_metrics():
    return pytest.importorskip("lm_eval.api.metrics", reason="lm-eval (a bench dependency) is not installed")


# --- chrF / BLEU / TER --------------------------------------------------------------------------------------


def test_chrf_of_identical_arabic_and_tifinagh_is_100():
    assert M.compute("chrf", [AR, TFNG], [AR, TFNG]) == 100.0
    assert M.compute("chrf++", [AR, TFNG], [AR, TFNG]) == 100.0
    assert M.compute("chrf", [TFNG], [[TFNG]]) == 100.0  # a list of references per example
    assert M.compute("chrf", [TFNG], ["ⵜⵖⵔⵜ"]) == 0.0  # not one character in common


def test_bleu_chrf_ter_equal_sacrebleu_and_lm_eval():
    import sacrebleu

    lm = _lm_eval_metrics()
    refs = [r for r, _ in PAIRS]
    preds = [p for _, p in PAIRS]
    items = [(r, p) for r, p in PAIRS]
    expected = {
        "bleu": sacrebleu.corpus_bleu(preds, [refs]).score,
        "chrf": sacrebleu.corpus_chrf(preds, [refs]).score,
        "chrf++": sacrebleu.corpus_chrf(preds, [refs], word_order=2).score,
        "ter": sacrebleu.corpus_ter(preds, [refs]).score,
    }
    lm_fns = {"bleu": lm.bleu, "chrf": lm.chrf, "chrf++": lm.chrfpp, "ter": lm.ter}
    for name, value in expected.items():
        assert 0.0 < value < 100.0
        assert M.compute(name, preds, refs) == value, name
        assert M.aggregate(name, items, bootstrap_iters=0) == (value, None), name
        assert lm_fns[name](items) == value, name
    # two references per example: the same as both tools
    two = [([r, r.upper()], p) for r, p in PAIRS]
    assert M.compute("bleu", preds, [x[0] for x in two]) == lm.bleu(two)
    assert M.compute("chrf", preds, [x[0] for x in two]) == lm.chrf(two)


def test_variable_number_of_references_is_padded_not_cut():
    import sacrebleu

    refs = [["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ"], ["salam 3likom", "salam 3alikom"]]
    preds = ["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "salam 3alikom"]
    expected = sacrebleu.corpus_chrf(preds, [["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "salam 3likom"], [None, "salam 3alikom"]]).score
    assert expected == 100.0  # the second reference of example 2 matches exactly
    assert M.compute("chrf", preds, refs) == expected


def test_corpus_bootstrap_stderr_equals_lm_eval(monkeypatch):
    lm = _lm_eval_metrics()
    monkeypatch.setenv("DISABLE_MULTIPROC", "1")  # lm-eval's single-process path draws the same resamples
    items = [(r, p) for r, p in PAIRS]
    value, stderr = M.aggregate("chrf", items)  # capped at 100 draws, as lm-eval does for chrf
    assert value == lm.chrf(items)
    assert stderr == lm.stderr_for_metric(lm.chrf, bootstrap_iters=100)(items)
    assert stderr > 0.0
    assert M.aggregate("chrf", items, bootstrap_iters=20)[1] == lm.bootstrap_stderr(lm.chrf, items, iters=20)
    # another seed draws other resamples
    assert (
        M.aggregate("chrf", items, bootstrap_iters=20, seed=7)[1]
        != M.aggregate("chrf", items, bootstrap_iters=20)[1]
    )


def test_sentence_scores_for_the_samples_file():
    import sacrebleu

    ref, pred = PAIRS[0]
    assert M.example_value("bleu", M.score("bleu", pred, ref)) == sacrebleu.sentence_bleu(pred, [ref]).score
    assert M.example_value("chrf", (ref, pred)) == sacrebleu.sentence_chrf(pred, [ref]).score
    assert M.example_value("cer", M.score("cer", "ktab", "kitab")) == 0.2


# --- ROUGE --------------------------------------------------------------------------------------------------


def test_rouge_l_of_identical_arabic_and_tifinagh_is_one_where_rouge_score_default_gives_zero():
    from rouge_score import rouge_scorer

    default = rouge_scorer.RougeScorer(["rougeL"])
    assert default.score(AR, AR)["rougeL"].fmeasure == 0.0  # the failure: it keeps only [a-z0-9]
    assert default.score(TFNG, TFNG)["rougeL"].fmeasure == 0.0
    for name in ("rouge1", "rouge2", "rougeL"):
        assert M.compute(name, [AR, TFNG], [AR, TFNG]) == 1.0, name


def test_rouge_partial_overlap_by_hand():
    # Tifinagh: prediction azul/flawn/akkw, reference azul/akkw -> 2 shared words, no shared bigram
    pred, ref = "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ ⴰⴽⴽⵯ", "ⴰⵣⵓⵍ ⴰⴽⴽⵯ"
    assert M.compute("rouge1", [pred], [ref]) == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))  # 0.8
    assert M.compute("rouge2", [pred], [ref]) == 0.0
    assert M.compute("rougeL", [pred], [ref]) == pytest.approx(0.8)  # LCS 2 of 3 and of 2
    # Darija: 3 of 4 words shared, 1 of 3 predicted bigrams (of 2 reference bigrams)
    pred, ref = "السلام عليكم يا صاحبي", "السلام عليكم صاحبي"
    assert M.compute("rouge1", [pred], [ref]) == pytest.approx(6 / 7)
    assert M.compute("rouge2", [pred], [ref]) == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))  # 0.4
    assert M.compute("rougeL", [pred], [ref]) == pytest.approx(6 / 7)
    # the mean over examples, and the best of several references
    assert M.compute("rouge1", [pred, TFNG], [ref, TFNG]) == pytest.approx((6 / 7 + 1) / 2)
    assert M.compute("rouge1", [pred], [[TFNG, pred]]) == 1.0


def test_rouge_tokenizer_keeps_letters_marks_and_arabizi_digits():
    assert M.rouge_tokenize("كَتَبَ الدَّرْسَ.") == ["كَتَبَ", "الدَّرْسَ"]  # harakat stay inside the word
    assert M.rouge_tokenize("ⴰⴽⴽⵯ, ⴰⵎⵣⵡⴰⵔⵓ!") == ["ⴰⴽⴽⵯ", "ⴰⵎⵣⵡⴰⵔⵓ"]  # the labialization mark ⵯ too
    assert M.rouge_tokenize("Wach 3ndek 7ta chi 9lam?") == ["wach", "3ndek", "7ta", "chi", "9lam"]
    assert M.rouge_tokenize("كـتـاب ، l'école") == ["كتاب", "l", "école"]  # tatweel dropped
    assert M.rouge_tokenize("e\u0301te\u0301") == ["été"]  # NFC
    assert M.rouge_tokenize("Salam", lowercase=False) == ["Salam"]


# --- CER / WER ----------------------------------------------------------------------------------------------


def test_cer_of_identical_strings_is_zero_and_hand_computed_rates():
    assert M.compute("cer", [AR, TFNG, "salam"], [AR, TFNG, "salam"]) == 0.0
    assert M.compute("wer", [AR, TFNG], [AR, TFNG]) == 0.0
    assert M.compute("cer", ["ktab"], ["kitab"]) == 0.2  # one deletion in 5 characters
    assert M.compute("cer", ["كتب"], ["كتاب"]) == 0.25
    assert M.compute("cer", ["ktab", "كتب"], ["kitab", "كتاب"]) == 2 / 9  # corpus: total edits / total chars
    assert M.compute("cer", ["ⴰⵣⵍ"], ["ⴰⵣⵓⵍ"]) == 0.25
    # 3likom -> 3alikom is one substitution, "a" one insertion: 2 edits over 3 reference words
    assert M.compute("wer", ["salam 3likom a sahbi"], ["salam 3alikom sahbi"]) == 2 / 3
    assert M.score("wer", "salam 3likom a sahbi", "salam 3alikom sahbi") == (2, 3)
    # canonically equal text (decomposed madda, extra spaces) has no edits
    assert M.compute("cer", ["\u0627\u0653خر  "], ["\u0622خر"]) == 0.0
    assert M.edit_distance("salam", "slama") == 2
    assert M.edit_distance("", "ⴰⵣⵓⵍ") == 4


def test_cer_stderr_is_bootstrapped_and_lower_is_better():
    items = [M.score("cer", p, r) for r, p in PAIRS]
    value, stderr = M.aggregate("cer", items, bootstrap_iters=200)
    assert value == sum(e for e, _ in items) / sum(n for _, n in items)
    assert stderr == agg.bootstrap_stderr(agg.error_rate, items, 200)
    assert M.METRICS["cer"].higher_is_better is False and M.METRICS["chrf"].higher_is_better is True


# --- exact match --------------------------------------------------------------------------------------------


def test_exact_match_options_match_lm_eval_and_strip_arabic_punctuation():
    lm = _lm_eval_metrics()
    preds = ["Salam!", "answer: 42", "Bslama", "wakha."]
    refs = ["salam", "42", "bslama", "Wakha"]
    for options in [
        {},
        {"ignore_case": True},
        {"ignore_case": True, "ignore_punctuation": True},
        {"regexes_to_ignore": ["answer: "]},
        {"ignore_numbers": True},
    ]:
        expected = lm.exact_match_hf_evaluate(preds, refs, **options)["exact_match"]
        assert M.compute("exact_match", preds, refs, **options) == expected, options
    assert M.compute("exact_match", preds, refs, ignore_case=True, ignore_punctuation=True) == 0.75
    # ، and ؟ are not in string.punctuation; they go too
    assert M.compute("exact_match", ["واخا، شكرا؟"], ["واخا شكرا"], ignore_punctuation=True) == 1.0
    assert M.compute("exact_match", ["واخا، شكرا؟"], ["واخا شكرا"]) == 0.0
    assert M.score("exact_match", "bslama", ["salam", "bslama"]) == 1.0  # any reference


# --- multiple choice, classification ------------------------------------------------------------------------


def test_acc_norm_by_characters_and_acc_bytes_by_utf8_bytes_by_hand():
    # la: 2 chars/2 bytes, ⵡⴰⵀ: 3 chars/9 bytes, bezzaf: 6 chars/6 bytes
    choices = ["la", "ⵡⴰⵀ", "bezzaf"]
    lls = [-1.0, -3.0, -2.4]
    # raw: -1.0 best (0); per char: -0.5, -1.0, -0.4 -> 2; per byte: -0.5, -0.333, -0.4 -> 1
    s = M.score_multiple_choice(lls, choices, gold=2, is_greedy=[False, False, True])
    assert (s["pred"], s["pred_norm"], s["pred_bytes"]) == (0, 2, 1)
    assert (s["acc"], s["acc_norm"], s["acc_bytes"], s["exact_match"]) == (0.0, 1.0, 0.0, 1)
    assert s["f1"] == (2, 0)
    s = M.score_multiple_choice(lls, choices, gold="ⵡⴰⵀ")  # a gold given as the choice string
    assert (s["acc"], s["acc_norm"], s["acc_bytes"]) == (0.0, 0.0, 1.0)
    s = M.score_multiple_choice(lls, choices, gold=[0, 1])  # several right answers
    assert (s["acc"], s["acc_norm"], s["acc_bytes"]) == (1.0, 0.0, 1.0)
    assert M.compute("acc_norm", [lls, lls], [2, 0], choices=[choices, choices]) == 0.5
    assert M.compute("acc_bytes", [lls], [1], choices=[choices]) == 1.0
    assert M.compute("acc", [2, 1, 0], [2, 1, 1]) == 2 / 3  # labels


def test_multiple_choice_bad_rows_are_clear_errors():
    with pytest.raises(ValueError, match="gold answer index 3 is out of range for 2 choices"):
        M.score_multiple_choice([-1.0, -2.0], ["iyyeh", "la"], gold=3)
    with pytest.raises(ValueError, match="'wakha' is not one of the choices"):
        M.score_multiple_choice([-1.0, -2.0], ["iyyeh", "la"], gold="wakha")
    with pytest.raises(ValueError, match="choice 1 is an empty string"):
        M.score_multiple_choice([-1.0, -2.0], ["iyyeh", ""], gold=0)
    with pytest.raises(ValueError, match="3 log-likelihoods for 2 choices"):
        M.score_multiple_choice([-1.0, -2.0, -3.0], ["iyyeh", "la"], gold=0)
    with pytest.raises(InputError, match="needs choices="):
        M.compute("acc_norm", [[-1.0, -2.0]], [0])


def test_macro_f1_and_mcc_by_hand_and_against_lm_eval():
    golds = [0, 0, 1, 1, 2, 2]
    preds = [0, 1, 1, 1, 2, 0]
    # label 0: TP 1 FP 1 FN 1 -> 1/2; label 1: TP 2 FP 1 FN 0 -> 4/5; label 2: TP 1 FP 0 FN 1 -> 2/3
    assert M.compute("f1", preds, golds) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert M.aggregate("f1", list(zip(golds, preds, strict=True)), bootstrap_iters=0)[0] == pytest.approx(
        0.6555555555555556
    )
    # MCC: c=4 of s=6; t=(2,2,2), p=(2,3,1): (4*6 - (4+6+2)) / sqrt((36 - (4+9+1)) * (36 - 12))
    assert M.compute("mcc", preds, golds) == pytest.approx(12 / math.sqrt(22 * 24))
    lm = _lm_eval_metrics()
    pytest.importorskip("sklearn", reason="scikit-learn (lm-eval's f1/mcc backend) is not installed")
    assert M.compute("mcc", preds, golds) == pytest.approx(
        lm.matthews_corrcoef(list(zip(golds, preds, strict=True)))
    )
    binary = [(1, 1), (1, 0), (0, 1), (0, 0), (1, 1)]
    expected = lm.f1_score(binary)
    assert M.compute("f1", [p for _, p in binary], [g for g, _ in binary], average="binary") == pytest.approx(
        expected
    )
    from sklearn.metrics import f1_score

    assert M.compute("f1", preds, golds) == pytest.approx(f1_score(golds, preds, average="macro"))


# --- aggregations and standard errors -----------------------------------------------------------------------


def test_mean_stderr_and_group_aggregation_equal_lm_eval():
    lm = _lm_eval_metrics()
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert M.aggregate("acc", values) == (lm.mean(values), lm.mean_stderr(values))
    assert M.aggregate("acc", [1.0, 0.0, 1.0, 1.0]) == (0.75, 0.25)
    assert M.aggregate("acc", [1.0]) == (1.0, None)  # one example: no stderr (lm-eval's N/A)
    assert M.aggregate("acc", values, bootstrap_iters=0) == (lm.mean(values), None)
    assert M.sample_stddev(values) == lm.sample_stddev(values)
    scores, sizes, stderrs = [0.5, 0.8, 0.65], [100, 40, 7], [0.05, 0.063, 0.18]
    assert M.aggregate_subtask_metrics(scores, sizes) == lm.aggregate_subtask_metrics(scores, sizes)
    assert M.pooled_sample_stderr(stderrs, sizes) == pytest.approx(
        float(lm.pooled_sample_stderr(stderrs, sizes))
    )
    value, stderr = M.aggregate_group(scores, sizes, stderrs)
    assert value == pytest.approx((0.5 * 100 + 0.8 * 40 + 0.65 * 7) / 147)
    assert stderr == pytest.approx(float(lm.pooled_sample_stderr(stderrs, sizes)))
    value, stderr = M.aggregate_group(scores, sizes, stderrs, weight_by_size=False)
    assert value == pytest.approx(sum(scores) / 3)
    assert stderr == pytest.approx(float(lm.unweighted_mean_stderr(stderrs)))
    assert M.aggregate_group(scores, sizes, [0.05, None, 0.18]) == (
        M.aggregate_subtask_metrics(scores, sizes),
        None,
    )


def test_rolling_perplexities_and_bits_per_byte():
    lm = _lm_eval_metrics()
    # 12 bytes of Tifinagh at exactly 1 bit each
    items = M.score_rolling(-12 * math.log(2), "ⴰⵣⵓⵍ")
    assert items["bits_per_byte"] == (-12 * math.log(2), 12)
    assert M.aggregate("bits_per_byte", [items["bits_per_byte"]]) == (pytest.approx(1.0), None)
    docs = ["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ", "السلام عليكم", " salam  3likom "]
    lls = [-30.0, -25.5, -41.25]
    scored = [M.score_rolling(ll, d) for ll, d in zip(lls, docs, strict=True)]
    assert [s["word_perplexity"][1] for s in scored] == [2, 2, 4]  # lm-eval's re.split: edge spaces count
    for name, lm_fn in [
        ("word_perplexity", lm.weighted_perplexity),
        ("byte_perplexity", lm.weighted_perplexity),
        ("bits_per_byte", lm.bits_per_byte),
    ]:
        its = [s[name] for s in scored]
        assert M.aggregate(name, its) == (lm_fn(its), None), name  # lm-eval gives these no stderr
        assert M.compute(name, lls, docs) == lm_fn(its)
    assert M.compute("byte_perplexity", lls, docs) == math.exp(-sum(lls) / (28 + 23 + 15))
    assert M.compute("token_perplexity", [-20.0, -10.0], [10, 5]) == pytest.approx(math.e**2)
    value, stderr = M.aggregate("perplexity", [-1.0, -3.0, -2.0], bootstrap_iters=50)
    assert value == lm.perplexity([-1.0, -3.0, -2.0]) == math.exp(2.0)
    assert stderr == agg.bootstrap_stderr(agg.perplexity, [-1.0, -3.0, -2.0], 50)


def test_score_generation_gives_value_stderr_and_per_example_values(monkeypatch):
    import sacrebleu

    monkeypatch.setenv("DISABLE_MULTIPROC", "1")
    preds = [p for _, p in PAIRS]
    refs = [[r] for r, _ in PAIRS]  # the harness passes a list of references per example
    value, stderr, per_example = M.score_generation("chrf", preds, refs)
    assert value == sacrebleu.corpus_chrf(preds, [[r[0] for r in refs]]).score
    assert stderr == agg.bootstrap_stderr(
        agg.AGGREGATIONS["chrf"], [(r, p) for r, p in zip(refs, preds, strict=True)], 100
    )
    assert per_example == [sacrebleu.sentence_chrf(p, r).score for p, r in zip(preds, refs, strict=True)]
    value, _, per_example = M.score_generation("bleu", preds, refs, tokenize="char")
    assert value == sacrebleu.corpus_bleu(preds, [[r[0] for r in refs]], tokenize="char").score
    assert per_example[0] == sacrebleu.sentence_bleu(preds[0], refs[0], tokenize="char").score
    assert M.score_generation("cer", ["ktab", "ⴰⵣⵓⵍ"], [["kitab"], ["ⴰⵣⵓⵍ"]]) == (
        1 / 9,
        agg.bootstrap_stderr(agg.error_rate, [(1, 5), (0, 4)], 1000),
        [0.2, 0.0],
    )
    value, stderr, per_example = M.score_generation(
        "exact_match", ["Wakha!", "la"], [["wakha"], ["iyyeh"]], ignore_case=True, ignore_punctuation=True
    )
    assert (value, stderr, per_example) == (0.5, 0.5, [1.0, 0.0])
    labels = M.score_generation("f1", ["pos", "neg", "neg"], [["pos"], ["pos"], ["neg"]])
    assert labels[0] == pytest.approx((2 / 3 + 2 / 3) / 2) and labels[2] == [1.0, 0.0, 1.0]
    with pytest.raises(
        InputError,
        match="metric 'exact_match': unknown option\\(s\\) 'ignore_cases'; did you mean 'ignore_case'",
    ):
        M.score_generation("exact_match", ["a"], [["a"]], ignore_cases=True)
    with pytest.raises(InputError, match="metric 'cer': unknown option\\(s\\) 'lowercase'. Valid: none"):
        M.compute("cer", ["a"], ["a"], lowercase=True)


def test_unknown_metric_names_are_clear_errors():
    with pytest.raises(InputError, match="unknown metric 'chrF'; did you mean 'chrf'"):
        M.compute("chrF", ["a"], ["a"])
    with pytest.raises(InputError, match="unknown metric or aggregation 'meen'; did you mean 'mean'"):
        M.aggregate("meen", [1.0])
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        M.compute("cer", ["a", "b"], ["a"])
    assert M.aggregate("my_metric", [1.0, 0.0], aggregation="mean") == (
        0.5,
        0.5,
    )  # a task's metric_list entry


# --- evaluate modules, package ------------------------------------------------------------------------------


def test_every_metric_has_a_shipped_evaluate_module():
    for name, spec in M.METRICS.items():
        path = M.metric_path(name)
        assert path.name == spec.module and (path / f"{spec.module}.py").is_file(), name
    assert M.metric_path("rouge") == M.metric_path("rougeL")
    assert M.metric_path("chrf++") == M.metric_path("chrf")


def test_evaluate_load_by_path_works_offline(tmp_path, monkeypatch):
    import evaluate

    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    chrf = evaluate.load(str(M.metric_path("chrf")), cache_dir=str(tmp_path))
    assert chrf.compute(predictions=[AR, TFNG], references=[[AR], [TFNG]])["chrf"] == 100.0
    preds = [p for _, p in PAIRS]
    refs = [r for r, _ in PAIRS]
    assert chrf.compute(predictions=preds, references=refs, word_order=2)["chrf"] == M.compute(
        "chrf++", preds, refs
    )
    rouge = M.load_metric("rouge", cache_dir=str(tmp_path))
    assert rouge.compute(predictions=[AR, TFNG], references=[AR, TFNG]) == {
        "rouge1": 1.0,
        "rouge2": 1.0,
        "rougeL": 1.0,
    }
    assert rouge.compute(predictions=["ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ ⴰⴽⴽⵯ"], references=["ⴰⵣⵓⵍ ⴰⴽⴽⵯ"])[
        "rougeL"
    ] == pytest.approx(0.8)
    cer = evaluate.load(
        str(M.metric_path("cer") / "cer.py"), cache_dir=str(tmp_path)
    )  # the .py file works too
    assert cer.compute(predictions=[AR, "ktab"], references=[AR, "kitab"])["cer"] == 1 / (len(AR) + 5)


def test_importing_metrics_stays_light():
    code = (
        "import sys, jazari_nlp.evaluation.metrics as m; "
        "print(sorted(x for x in ('evaluate', 'sacrebleu', 'rouge_score', 'numpy', 'torch', 'datasets') "
        "if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- real text ----------------------------------------------------------------------------------------------


def _sib_dev(shared_data, lang):
    path = shared_data / "sib200" / lang / "dev.tsv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8", newline="") as f:
        return {
            row["index_id"]: row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        }


def test_real_darija_and_tamazight_sentences(shared_data):
    """SIB-200 dev: each sentence scores perfectly against itself; Darija against the aligned MSA sentence
    overlaps (ROUGE and chrF above the misaligned pairing), which rouge_score's default tokenizer cannot
    see."""
    from rouge_score import rouge_scorer

    ary, arb, zgh = (_sib_dev(shared_data, lang) for lang in ("ary_Arab", "arb_Arab", "tzm_Tfng"))
    ids = sorted(set(ary) & set(arb) & set(zgh))
    assert len(ids) >= 90
    for texts in ([ary[i] for i in ids], [zgh[i] for i in ids]):
        assert M.compute("chrf", texts, texts) == 100.0
        assert M.compute("rougeL", texts, texts) == 1.0
        assert M.compute("cer", texts, texts) == 0.0
        assert all(M.rouge_tokenize(t) for t in texts)
    preds, refs = [ary[i] for i in ids], [arb[i] for i in ids]
    shifted = refs[1:] + refs[:1]
    aligned, misaligned = M.compute("rougeL", preds, refs), M.compute("rougeL", preds, shifted)
    assert 0.0 < misaligned < aligned < 1.0
    assert M.compute("chrf", preds, shifted) < M.compute("chrf", preds, refs) < 100.0
    # pairs without a single ASCII letter or digit: rouge_score's default sees no word at all
    default = rouge_scorer.RougeScorer(["rougeL"])
    arabic_only = [(r, p) for r, p in zip(refs, preds, strict=True) if not re.search(r"[A-Za-z0-9]", r + p)]
    assert len(arabic_only) >= 30
    assert sum(default.score(r, p)["rougeL"].fmeasure for r, p in arabic_only) == 0.0
    assert M.compute("rougeL", [p for _, p in arabic_only], [r for r, _ in arabic_only]) > 0.1
    assert text.corpus_chrf(list(zip(refs, preds, strict=True))) == M.compute("chrf", preds, refs)
