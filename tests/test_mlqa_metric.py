"""MLQA's answer normalisation, F1 and exact match on hand-made cases; the expected values follow
the rules of MLQA's official evaluation script (mlqa_evaluation_v1.py), worked out by hand."""

import pytest

from alignxfer.tasks.mlqa_eval import exact_match_score, f1_score, normalize_answer, qa_scores


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        # English: lowercase, punctuation, a/an/the as whole words only
        ("The Eiffel Tower!", "en", "eiffel tower"),
        ("an apple, a day", "en", "apple day"),
        ("theory of a theme", "en", "theory of theme"),
        # Spanish: el la los las un una unos unas -- but not "lo" (absent from the script's list)
        ("El Niño y los «perros»", "es", "niño y perros"),
        ("¿Qué es lo mejor?", "es", "qué es lo mejor"),
        ("Unas casas y UNOS perros", "es", "casas y perros"),
        # German: the definite and indefinite articles in every case
        ("Die Katze, der Hund und ein Vogel.", "de", "katze hund und vogel"),
        ("Einem Mann eines Dorfes", "de", "mann dorfes"),
        # Vietnamese: của là cái chiếc những; "các" is not in the script's list
        ("Những con mèo của tôi", "vi", "con mèo tôi"),
        ("các con mèo", "vi", "các con mèo"),
        # Arabic: every "ال" is removed, also inside a word (the script's pattern does exactly that)
        ("الكتاب", "ar", "كتاب"),
        ("مالك", "ar", "م ك"),
        # Hindi: no articles; the danda is punctuation (category Po)
        ("भारत।", "hi", "भारत"),
        # Chinese: punctuation removed, each Han character a token, other runs split on spaces
        ("北京是中国的首都。", "zh", "北 京 是 中 国 的 首 都"),
        ("iPhone 手机", "zh", "iphone 手 机"),
        # string.punctuation adds ASCII symbols ($ is a currency symbol, category Sc); other symbols stay
        ("$100", "en", "100"),
        ("€100", "en", "€100"),
        ("a–b — c", "en", "ab c"),  # en dash and em dash are punctuation (Pd)
    ],
)
def test_normalize_answer(text, lang, expected):
    assert normalize_answer(text, lang) == expected


def test_f1_and_exact_match():
    # pred tokens cat sat on mat, gold cat on mat: precision 3/4, recall 1
    assert f1_score("the cat sat on the mat", "cat on mat", "en") == pytest.approx(2 * 0.75 / 1.75)
    assert exact_match_score("The Cat.", "cat", "en") == 1.0
    assert exact_match_score("cats", "cat", "en") == 0.0
    # Chinese compares characters: 北京 vs 北京市 -> precision 1, recall 2/3
    assert f1_score("北京", "北京市", "zh") == pytest.approx(0.8)
    # German articles do not count: "der Hund" vs "ein Hund" match exactly
    assert exact_match_score("der Hund", "ein Hund", "de") == 1.0


def test_answers_that_normalise_to_nothing():
    # both sides empty after normalisation: exact match 1, F1 0 (no shared token), as in the script
    assert exact_match_score("the", "a", "en") == 1.0
    assert f1_score("the", "a", "en") == 0.0
    assert f1_score("", "cat", "en") == 0.0


def test_best_answer_and_averages():
    scores = qa_scores(["mat", "dog house"], [["the mat", "a rug"], ["house"]], ["en", "en"])
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx((1.0 + 2 / 3) / 2)  # second: precision 1/2, recall 1


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="no normalisation for language 'fr'"):
        normalize_answer("le chat", "fr")
    with pytest.raises(ValueError, match="no questions"):
        qa_scores([], [], [])
