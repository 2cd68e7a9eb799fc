"""MLQA: extractive question answering, fine-tuned on SQuAD v1.1, tested on MLQA's languages.

Zero-shot: fine-tune on SQuAD v1.1's training set, select on MLQA's English dev set, test on
MLQA (context and question in the same language). Translate-train: MLQA's machine translations
of SQuAD (train + dev) into the target language.

Data (from :mod:`alignxfer.tasks.hub`): JSON lines ``{"id", "title", "context", "question",
"answers": [{"text", "answer_start"}], "lang"}``; ``lang`` is the answer language, which picks
MLQA's answer normalisation (:mod:`alignxfer.tasks.mlqa_eval`). ``labels.json`` is ``[]``.

Encoding: the question and the context are split into words by :func:`alignxfer.words.segment`
(so predictions are whole words of the workflow's one segmentation, mapped back to the exact
substring of the context through :func:`alignxfer.words.segment_spans`), then encoded as
``[CLS] question [SEP] context window [SEP]`` with segment ids 0/1. The question is cut to
``max_query_length`` tokens; a long context is cut into windows of at most ``max_length`` tokens
that overlap by ``doc_stride`` tokens (Hugging Face's ``stride``). A training window whose
context holds the whole gold answer is labelled with its first and last token; any other
window points at ``[CLS]`` (position 0), as in BERT's SQuAD recipe.

Prediction: in every window, the ``n_best`` best start tokens (first subword of a word) and end
tokens (last subword of a word) of the context, with start <= end and at most
``max_answer_length`` tokens, are scored by start + end logit; the best span over all windows of
a question is the answer. Metrics: MLQA's F1 and exact match (fractions); the primary metric
for dev selection and the tables is F1.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from alignxfer.io import read_jsonl
from alignxfer.tasks.base import (
    Task,
    iterate_eval_batches,
)
from alignxfer.tasks.mlqa_eval import MLQA_LANGUAGES, qa_scores
from alignxfer.words import segment, segment_spans

#: QA options (config ``tasks.mlqa``) and their defaults; ``max_length`` falls back to the
#: fine-tuning max_length when not set
QA_DEFAULTS = {"doc_stride": 128, "max_query_length": 64, "max_answer_length": 30, "n_best": 20}


def qa_options(hp: dict) -> dict:
    out = {key: int(hp.get(key) if hp.get(key) is not None else default) for key, default in QA_DEFAULTS.items()}
    out["max_length"] = int(hp["max_length"])
    room = out["max_length"] - out["max_query_length"] - 3
    if room <= 0:
        raise ValueError(
            f"max_length {out['max_length']} leaves no room for the context after a {out['max_query_length']}-token "
            "question and 3 special tokens; raise tasks.mlqa.max_length or lower max_query_length"
        )
    if not 0 <= out["doc_stride"] < room:
        raise ValueError(
            f"doc_stride {out['doc_stride']} must be smaller than the context room of a window ({room} tokens = "
            "max_length - max_query_length - 3)"
        )
    return out


# --------------------------------------------------------------------------- data


def load_qa_examples(path) -> list[dict]:
    examples = []
    for lineno, record in enumerate(read_jsonl(path), 1):
        for key in ("id", "context", "question", "answers", "lang"):
            if key not in record:
                raise ValueError(f"{path}:{lineno}: missing key {key!r}")
        if record["lang"] not in MLQA_LANGUAGES:
            raise ValueError(
                f"{path}:{lineno}: language {record['lang']!r} has no MLQA normalisation ({list(MLQA_LANGUAGES)})"
            )
        if not record["answers"]:
            raise ValueError(f"{path}:{lineno}: question {record['id']!r} has no gold answer")
        examples.append(record)
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def answer_word_span(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """Indices of the first and last word overlapping the characters ``[start, end)``."""
    inside = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    return (inside[0], inside[-1]) if inside else None


def truncate_question(tokenizer, questions: list[list[str]], max_query_length: int) -> list[list[str]]:
    """Drop trailing words of each question until it fits in ``max_query_length`` tokens (at least one word is kept)."""
    enc = tokenizer(questions, is_split_into_words=True, add_special_tokens=False)
    out = []
    for i, words in enumerate(questions):
        ids = enc["input_ids"][i]
        if len(ids) <= max_query_length:
            out.append(words)
            continue
        word_ids = enc.word_ids(i)
        cut = word_ids[max_query_length]  # the first word that does not fit completely
        out.append(words[: max(1, cut)])
    return out


def build_features(
    tokenizer, examples: list[dict], options: dict, training: bool, drops: dict | None = None
) -> list[dict]:
    """Windows of every example (see the module docstring). Training features carry only tensors'
    inputs and the answer positions; evaluation features also carry ``_example`` (the example's
    index) and ``_context`` (``(token position, word index, starts a word, ends a word)`` of
    every context token), and answer positions too (for the dev loss)."""
    questions = truncate_question(tokenizer, [segment(ex["question"]) for ex in examples], options["max_query_length"])
    spans = [segment_spans(ex["context"]) for ex in examples]
    contexts = [[ex["context"][s:e] for s, e in sp] for ex, sp in zip(examples, spans)]
    golds = []
    for ex, sp in zip(examples, spans):
        gold = None
        for answer in ex["answers"]:
            start = int(answer.get("answer_start", -1))
            if start >= 0:
                gold = answer_word_span(sp, start, start + len(answer["text"]))
                if gold:
                    break
        golds.append(gold)
    keep = (
        [i for i in range(len(examples)) if golds[i] is not None and contexts[i]]
        if training
        else [i for i in range(len(examples)) if contexts[i]]
    )
    if drops is not None:
        drops["no_answer_span" if training else "empty_context"] = len(examples) - len(keep)
    if not keep:
        return []
    enc = tokenizer(
        [questions[i] for i in keep],
        [contexts[i] for i in keep],
        is_split_into_words=True,
        truncation="only_second",
        max_length=options["max_length"],
        stride=options["doc_stride"],
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=True,
    )
    features = []
    for f in range(len(enc["input_ids"])):
        ex_idx = keep[enc["overflow_to_sample_mapping"][f]]
        words = contexts[ex_idx]
        seq_ids, word_ids, offsets = enc.sequence_ids(f), enc.word_ids(f), enc["offset_mapping"][f]
        context = [
            (k, word_ids[k], offsets[k][0] == 0, offsets[k][1] >= len(words[word_ids[k]]))
            for k in range(len(seq_ids))
            if seq_ids[k] == 1
        ]
        start_pos = end_pos = 0
        gold = golds[ex_idx]
        if gold is not None:
            starts = [k for k, w, first, _ in context if w == gold[0] and first]
            ends = [k for k, w, _, last in context if w == gold[1] and last]
            if starts and ends and starts[0] <= ends[-1]:
                start_pos, end_pos = starts[0], ends[-1]
        feature = {
            "input_ids": enc["input_ids"][f],
            "attention_mask": enc["attention_mask"][f],
            "token_type_ids": enc["token_type_ids"][f],
            "start_positions": start_pos,
            "end_positions": end_pos,
        }
        if not training:
            feature["_example"] = ex_idx
            feature["_context"] = context
        features.append(feature)
    return features


# --------------------------------------------------------------------------- prediction


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, context, n_best: int, max_answer_length: int):
    """The best ``(score, first word, last word)`` of one window, or None if it has no valid span."""
    starts = [(float(start_logits[k]), k, w) for k, w, first, _ in context if first]
    ends = [(float(end_logits[k]), k, w) for k, w, _, last in context if last]
    starts = sorted(starts, reverse=True)[:n_best]
    ends = sorted(ends, reverse=True)[:n_best]
    best = None
    for s_score, s_pos, s_word in starts:
        for e_score, e_pos, e_word in ends:
            if e_pos < s_pos or e_pos - s_pos + 1 > max_answer_length:
                continue
            score = s_score + e_score
            if best is None or score > best[0]:
                best = (score, s_word, e_word)
    return best


def predict_answers(
    model, features: list[dict], examples: list[dict], options: dict, batch_size: int, pad_token_id: int, device
):
    """Predicted answer strings (one per example, ``""`` if no span qualified) and the mean loss over windows."""
    model.eval()
    best: list = [None] * len(examples)
    loss_sum, n = 0.0, 0
    with torch.no_grad():
        for idx, batch in iterate_eval_batches(features, batch_size, pad_token_id, device):
            out = model(**batch)
            loss_sum += float(out.loss) * len(idx)
            n += len(idx)
            start_logits, end_logits = out.start_logits.float().cpu(), out.end_logits.float().cpu()
            for row, i in enumerate(idx):
                feature = features[i]
                found = best_spans(
                    start_logits[row],
                    end_logits[row],
                    feature["_context"],
                    options["n_best"],
                    options["max_answer_length"],
                )
                ex = feature["_example"]
                if found and (best[ex] is None or found[0] > best[ex][0]):
                    best[ex] = found
    answers = []
    for ex, found in zip(examples, best):
        if found is None:
            answers.append("")
            continue
        spans = segment_spans(ex["context"])
        answers.append(ex["context"][spans[found[1]][0] : spans[found[2]][1]])
    return answers, (loss_sum / n if n else float("nan"))


def score(examples: list[dict], predictions: list[str]) -> dict:
    return qa_scores(
        predictions, [[a["text"] for a in ex["answers"]] for ex in examples], [ex["lang"] for ex in examples]
    )


# --------------------------------------------------------------------------- the task


class MlqaTask(Task):
    name = "mlqa"

    def label_names(self) -> list:
        return []

    def records_from_rows(self, rows, lang: str, drops, label_names=None, where: str = "") -> Iterable[dict]:
        """Rows in the ``squad`` schema (``id``, ``context``, ``question``, ``answers`` with ``text`` and
        ``answer_start`` lists). An answer whose offset does not point at its text is moved to the
        text's nearest occurrence in the context (counted), or kept with offset -1 (scored, never
        trained on); a question without any answer is dropped (MLQA and SQuAD v1.1 have none)."""
        if lang not in MLQA_LANGUAGES:
            raise ValueError(
                f"{where}: language {lang!r} has no MLQA answer normalisation; known: {list(MLQA_LANGUAGES)}"
            )
        for i, row in enumerate(rows):
            for key in ("context", "question", "answers"):
                if key not in row:
                    raise ValueError(f"{where}: row {i} has no column {key!r} (columns: {sorted(row)})")
            context, question = row["context"] or "", (row["question"] or "").strip()
            if not context.strip() or not question:
                drops["empty_text"] += 1
                continue
            answers = row["answers"]
            texts, starts = list(answers.get("text") or []), list(answers.get("answer_start") or [])
            if not texts:
                drops["no_answer"] += 1
                continue
            out = []
            for text, start in zip(texts, starts + [-1] * (len(texts) - len(starts))):
                start = int(start)
                if context[start : start + len(text)] != text or start < 0:
                    found = [j for j in _occurrences(context, text)]
                    if found:
                        start = min(found, key=lambda j: abs(j - start))
                        drops["answer_offset_moved"] += 1
                    else:
                        start = -1
                        drops["answer_not_in_context"] += 1
                out.append({"text": text, "answer_start": start})
            yield {
                "id": str(row.get("id") or f"{lang}-{i}"),
                "title": row.get("title") or "",
                "context": context,
                "question": question,
                "answers": out,
                "lang": lang,
            }

    # the hooks of Task.finetune / Task.evaluate
    def context(self, labels_path, hp: dict) -> dict:
        return qa_options(hp)

    def read_examples(self, path, options: dict) -> list[dict]:
        return load_qa_examples(path)

    def features(self, tokenizer, examples, options, hp, training, drops=None) -> list[dict]:
        if training:
            return build_features(tokenizer, examples, options, training=True, drops=drops)
        return build_features(tokenizer, examples, options, training=False)

    def new_model(self, model_dir, options: dict):
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering.from_pretrained(model_dir)

    def trained_model(self, model_dir, options: dict, labels_path):
        return self.new_model(model_dir, options)

    def predict(self, model, features, examples, options, hp, pad_id, device, scores=False):
        predictions, loss = predict_answers(
            model, features, examples, options, int(hp["eval_batch_size"]), pad_id, device
        )
        return predictions, loss, None

    def score(self, examples, features, predictions, options) -> dict:
        return score(examples, predictions)

    def train_info(self, train, dev, train_features, train_drops, options) -> dict:
        return {
            "n_train": len(train),
            "n_train_windows": len(train_features),
            "train_drops": train_drops,
            "n_dev": len(dev),
            "qa_options": options,
        }

    def test_fields(self, examples, features, predictions, options, meta, info) -> dict:
        return {"windows": len(features)}

    def prediction_records(self, examples, features, predictions, scores, options):
        return (_prediction_record(ex, p) for ex, p in zip(examples, predictions))


def _prediction_record(example: dict, prediction: str) -> dict:
    """One line of the predictions file (docs/architecture.md): ``correct`` = exact match; ``f1``
    and ``exact_match`` are the per-example values of the metrics (their means are the metrics)."""
    one = score([example], [prediction])
    return {
        "id": str(example["id"]),
        "gold": [a["text"] for a in example["answers"]],
        "pred": prediction,
        "correct": int(one["exact_match"] >= 1.0),
        "f1": one["f1"],
        "exact_match": one["exact_match"],
    }


def _occurrences(text: str, needle: str) -> Iterable[int]:
    if not needle:
        return
    start = text.find(needle)
    while start >= 0:
        yield start
        start = text.find(needle, start + 1)
