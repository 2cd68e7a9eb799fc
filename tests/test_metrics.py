"""alignxfer.metrics on hand-made predictions; every expected value is worked out in the comments."""

import math

import numpy as np
import pytest

from alignxfer import metrics as M

# A 3-class problem, 10 examples. Confusion (rows gold, columns predicted):
#
#            pred a  pred b  pred c | gold count
#   gold a      2       1       1   |    4
#   gold b      1       2       0   |    3
#   gold c      0       1       2   |    3
#   ---------------------------------
#   pred count  3       4       3
#
# accuracy = (2 + 2 + 2) / 10 = 0.6
# F1 = 2·TP / (gold count + pred count):  a = 4/7, b = 4/7, c = 4/6 = 2/3
#   (check a: precision 2/3, recall 2/4, 2·(1/3)/(7/6) = 4/7)
# macro-F1 = (4/7 + 4/7 + 2/3) / 3 = (24/21 + 14/21) / 3 = 38/63
GOLD = ["a", "a", "a", "a", "b", "b", "b", "c", "c", "c"]
PRED = ["a", "a", "b", "c", "b", "b", "a", "c", "c", "b"]


def test_accuracy_hand_confusion():
    assert M.accuracy(GOLD, PRED) == pytest.approx(0.6)
    assert M.accuracy(GOLD, GOLD) == 1.0
    assert M.accuracy(["a", "b"], ["b", "a"]) == 0.0


def test_per_class_f1_hand_confusion():
    f1 = M.per_class_f1(GOLD, PRED)
    assert list(f1) == ["a", "b", "c"]
    assert f1["a"] == pytest.approx(4 / 7)
    assert f1["b"] == pytest.approx(4 / 7)
    assert f1["c"] == pytest.approx(2 / 3)


def test_macro_f1_hand_confusion():
    assert M.macro_f1(GOLD, PRED) == pytest.approx(38 / 63)
    assert M.classification_metrics(GOLD, PRED) == {"accuracy": pytest.approx(0.6), "macro_f1": pytest.approx(38 / 63)}


def test_class_only_predicted_counts_with_f1_zero():
    # gold a a, pred a b: F1_a = 2·1/(2+1) = 2/3; b is never gold: F1_b = 2·0/(0+1) = 0 -> macro 1/3
    assert M.per_class_f1(["a", "a"], ["a", "b"]) == {"a": pytest.approx(2 / 3), "b": 0.0}
    assert M.macro_f1(["a", "a"], ["a", "b"]) == pytest.approx(1 / 3)


def test_explicit_labels_absent_class_scores_zero():
    # "d" is neither gold nor predicted: left out by default, 0.0 when named -> (38/21) / 4
    assert "d" not in M.per_class_f1(GOLD, PRED)
    f1 = M.per_class_f1(GOLD, PRED, labels=["a", "b", "c", "d"])
    assert f1["d"] == 0.0
    assert M.macro_f1(GOLD, PRED, labels=["a", "b", "c", "d"]) == pytest.approx(38 / 84)
    # a subset of labels averages over exactly those: (4/7 + 2/3) / 2
    assert M.macro_f1(GOLD, PRED, labels=["a", "c"]) == pytest.approx((4 / 7 + 2 / 3) / 2)


def test_integer_labels_and_numpy_arrays():
    gold = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])  # same confusion as GOLD/PRED
    assert M.accuracy(gold, pred) == pytest.approx(0.6)
    assert M.macro_f1(gold, pred) == pytest.approx(38 / 63)


def test_macro_f1_agrees_with_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    assert M.macro_f1(GOLD, PRED) == pytest.approx(skm.f1_score(GOLD, PRED, average="macro"))
    assert M.macro_f1(["a", "a"], ["a", "b"]) == pytest.approx(
        skm.f1_score(["a", "a"], ["a", "b"], average="macro", zero_division=0)
    )
    labels = ["a", "b", "c", "d"]
    assert M.macro_f1(GOLD, PRED, labels=labels) == pytest.approx(
        skm.f1_score(GOLD, PRED, labels=labels, average="macro", zero_division=0)
    )
    per_class = skm.f1_score(GOLD, PRED, labels=["a", "b", "c"], average=None)
    assert [M.per_class_f1(GOLD, PRED)[k] for k in "abc"] == pytest.approx(list(per_class))


def test_majority_accuracy():
    # gold counts a 4, b 3, c 3 of 10
    assert M.majority_accuracy(GOLD) == pytest.approx(0.4)
    assert M.majority_accuracy(GOLD, majority_label="c") == pytest.approx(0.3)  # e.g. the training majority
    assert M.majority_accuracy(GOLD, majority_label="z") == 0.0  # a label absent from the test set
    with pytest.raises(ValueError):
        M.majority_accuracy([])


@pytest.mark.parametrize("fn", [M.accuracy, M.per_class_f1, M.macro_f1, M.classification_metrics])
def test_length_mismatch_and_empty_rejected(fn):
    with pytest.raises(ValueError, match="differ in length"):
        fn(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no examples"):
        fn([], [])


# --------------------------------------------------------------------------- precision@1

SIM = np.array(
    [
        [0.9, 0.1, 0.0],  # argmax 0 (gold 0: hit)
        [0.2, 0.3, 0.8],  # argmax 2 (gold 1: miss)
        [0.5, 0.5, 0.1],  # tie 0/1 -> 0 (gold 2: miss)
    ]
)


def test_precision_at_1_diagonal_gold():
    assert M.precision_at_1(SIM) == pytest.approx(1 / 3)
    assert M.precision_at_1(np.eye(4)) == 1.0


def test_precision_at_1_explicit_gold_and_rectangular():
    assert M.precision_at_1(SIM, gold=[0, 2, 0]) == 1.0
    # 2 queries x 3 candidates: argmax 2 and 0
    sim = [[0.1, 0.2, 0.3], [0.9, 0.0, 0.1]]
    assert M.precision_at_1(sim, gold=[2, 1]) == 0.5


def test_precision_at_1_ties_go_to_lowest_index():
    assert M.precision_at_1([[0.5, 0.5]], gold=[0]) == 1.0
    assert M.precision_at_1([[0.5, 0.5]], gold=[1]) == 0.0


def test_precision_at_1_candidate_keys_forgive_duplicates():
    # candidates 0 and 2 have the same text "x"
    sim = np.array(
        [
            [0.1, 0.2, 0.9],  # argmax 2, gold 0: same key -> hit with keys, miss without
            [0.0, 1.0, 0.0],  # argmax 1, gold 1: hit
            [0.7, 0.1, 0.7],  # tie 0/2 -> 0, gold 2: same key -> hit with keys, miss without
        ]
    )
    assert M.precision_at_1(sim) == pytest.approx(1 / 3)
    assert M.precision_at_1(sim, candidate_keys=["x", "y", "x"]) == 1.0
    # distinct keys behave as no keys
    assert M.precision_at_1(sim, candidate_keys=["x", "y", "z"]) == pytest.approx(1 / 3)
    # a duplicate key does not rescue a retrieval of a different text
    assert M.precision_at_1([[0.9, 0.1, 0.0]], gold=[2], candidate_keys=["y", "x", "x"]) == 0.0


@pytest.mark.parametrize(
    "sim, kwargs",
    [
        (np.zeros(3), {}),  # 1-d
        (np.zeros((0, 3)), {}),  # no queries
        (np.zeros((2, 0)), {}),  # no candidates
        (np.zeros((2, 2)), {"gold": [0]}),  # gold too short
        (np.zeros((2, 2)), {"candidate_keys": ["a"]}),  # keys too short
    ],
)
def test_precision_at_1_rejects_bad_input(sim, kwargs):
    with pytest.raises(ValueError):
        M.precision_at_1(sim, **kwargs)


def test_values_are_plain_floats_in_unit_interval():
    for value in (M.accuracy(GOLD, PRED), M.macro_f1(GOLD, PRED), M.precision_at_1(SIM), M.majority_accuracy(GOLD)):
        assert isinstance(value, float) and 0.0 <= value <= 1.0 and not math.isnan(value)
