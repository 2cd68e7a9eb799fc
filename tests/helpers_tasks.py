"""Local stand-ins for the paper-scale data: tiny datasets in the XNLI, SQuAD and MLQA schemas
(rows written here, saved with ``save_to_disk`` or as SQuAD-format JSON), a tiny BERT, and
file:// bitext archives in OPUS's Moses layout with their checksums."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

XNLI_LABELS = ["entailment", "neutral", "contradiction"]

#: (premise, hypothesis, label id) in English and a German version of the same rows
XNLI_EN = [
    ("the cat sits on the mat", "a cat is on the mat", 0),
    ("the dog runs in the house", "the dog is red", 1),
    ("the fish is in the water", "the fish is not in the water", 2),
    ("a big dog eats bread", "a dog eats", 0),
    ("the bird is blue", "the bird is yellow", 2),
    ("the horse eats rice", "the horse is big", 1),
]
XNLI_DE = [
    ("die Katze sitzt auf der Matte", "eine Katze ist auf der Matte", 0),
    ("der Hund läuft im Haus", "der Hund ist rot", 1),
    ("der Fisch ist im Wasser", "der Fisch ist nicht im Wasser", 2),
    ("ein großer Hund frisst Brot", "ein Hund frisst", 0),
    ("der Vogel ist blau", "der Vogel ist gelb", 2),
    ("das Pferd frisst Reis", "das Pferd ist groß", 1),
]

TASK_WORDS = (
    "the a is on in and not of cat dog fish bird horse mat house water bread rice big red blue yellow "
    "sits runs eats what where who does color lives die der das eine ein Katze Hund Fisch Vogel Pferd "
    "Matte Haus Wasser Brot Reis sitzt läuft frisst ist auf im nicht groß rot blau gelb wo was wer"
).split()


def save_xnli(root, rows_by_lang: dict, with_class_label: bool = True) -> Path:
    """One ``save_to_disk`` folder per language (``root/<lang>``), a DatasetDict with train/validation/test."""
    import datasets

    features = datasets.Features(
        {
            "premise": datasets.Value("string"),
            "hypothesis": datasets.Value("string"),
            "label": datasets.ClassLabel(names=XNLI_LABELS) if with_class_label else datasets.Value("int64"),
        }
    )
    for lang, rows in rows_by_lang.items():
        cols = {"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows], "label": [r[2] for r in rows]}
        split = datasets.Dataset.from_dict(cols, features=features)
        datasets.DatasetDict({"train": split, "validation": split, "test": split}).save_to_disk(str(Path(root) / lang))
    return Path(root)


def squad_rows(lang: str = "en") -> list[dict]:
    """Questions in the Hugging Face ``squad`` schema; the answer offsets point at the answers."""
    base = [
        ("q1", "the cat sits on the mat and the dog runs in the house", "where does the cat sit ?", "on the mat"),
        ("q2", "the dog runs in the house . the fish is in the water", "where is the fish ?", "in the water"),
        ("q3", "the big horse eats rice and the bird is blue", "what does the horse eat ?", "rice"),
        ("q4", "the red dog lives in the house", "what color is the dog ?", "red"),
    ]
    if lang == "de":
        base = [
            ("q1", "die Katze sitzt auf der Matte und der Hund läuft im Haus", "wo sitzt die Katze ?", "auf der Matte"),
            ("q2", "der Hund läuft im Haus . der Fisch ist im Wasser", "wo ist der Fisch ?", "im Wasser"),
            ("q3", "das große Pferd frisst Reis", "was frisst das Pferd ?", "Reis"),
        ]
    rows = []
    for qid, context, question, answer in base:
        rows.append(
            {
                "id": f"{lang}-{qid}",
                "title": "t",
                "context": context,
                "question": question,
                "answers": {"text": [answer], "answer_start": [context.index(answer)]},
            }
        )
    return rows


def save_squad(path, rows: list[dict]) -> Path:
    """A ``save_to_disk`` DatasetDict (train + validation) in the ``squad`` schema."""
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "title": datasets.Value("string"),
            "context": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answers": datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}),
        }
    )
    ds = datasets.Dataset.from_list(rows, features=features)
    datasets.DatasetDict({"train": ds, "validation": ds}).save_to_disk(str(path))
    return Path(path)


def write_squad_json(path, rows: list[dict]) -> Path:
    """MLQA's distribution format: SQuAD v1.1 JSON (``data`` -> ``paragraphs`` -> ``qas``)."""
    paragraphs = [
        {
            "context": r["context"],
            "qas": [
                {
                    "id": r["id"],
                    "question": r["question"],
                    "answers": [
                        {"text": t, "answer_start": s}
                        for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])
                    ],
                }
            ],
        }
        for r in rows
    ]
    Path(path).write_text(
        json.dumps({"version": "1.0", "data": [{"title": "t", "paragraphs": paragraphs}]}, ensure_ascii=False)
    )
    return Path(path)


def opus_zip(
    path, pair: str, code: str, en_lines: list[str], xx_lines: list[str], corpus: str = "TED2020"
) -> tuple[str, str]:
    """A Moses-layout archive like OPUS's ``<pair>.txt.zip``; returns ``(file:// url, sha256)``."""
    path = Path(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{corpus}.{pair}.en", "\n".join(en_lines) + "\n")
        archive.writestr(f"{corpus}.{pair}.{code}", "\n".join(xx_lines) + "\n")
    return path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest()
