"""Builders for tiny, offline test fixtures: a WordPiece tokenizer, tokenized bitext with
Pharaoh alignments, and a tiny BERT masked-LM base model."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a cat dog fish house mat sits runs eats is on red big small and sees "
    "die der das katze hund fisch haus matte sitzt läuft frisst ist auf rot groß klein und sieht "
    "##n ##s ##e ##en"
).split()

#: (English, German, alignment) -- words split on spaces; "katzen" and "hunde" take two subwords
PAIRS = [
    ("the cat sits", "die katze sitzt", "0-0 1-1 2-2"),
    ("the dog runs", "der hund läuft", "0-0 1-1 2-2"),
    ("a cat eats fish", "die katze frisst fisch", "0-0 1-1 2-2 3-3"),
    ("the house is red", "das haus ist rot", "0-0 1-1 2-2 3-3"),
    ("the cat is on the mat", "die katze ist auf der matte", "0-0 1-1 2-2 3-3 4-4 5-5"),
    ("the dog sees the cats", "der hund sieht die katzen", "0-0 1-1 2-2 3-3 4-4"),
    ("a big dog and a small cat", "ein großer hund und eine kleine katze", "0-0 1-1 2-2 3-3 4-4 5-5 6-6"),
    ("the dogs eat fish", "die hunde fressen fisch", "0-0 1-1 2-2 3-3"),
]


def make_tokenizer(path) -> Path:
    from alignxfer.tokenization import build_wordpiece, wrap_fast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS)}
    wrap_fast(build_wordpiece(vocab=vocab)).save_pretrained(str(path))
    return Path(path)


def tokenize_words(tokenizer, sentence: str) -> tuple[list, list]:
    ids, word_ids = [], []
    for w, word in enumerate(sentence.split()):
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        ids.extend(pieces)
        word_ids.extend([w] * len(pieces))
    return ids, word_ids


def make_pair_data(root, tokenizer_dir, pairs=PAIRS, name="en-de") -> tuple[Path, Path]:
    """Save a tokenized pair dataset and its alignment file; returns (dataset dir, alignment path)."""
    import datasets
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    root = Path(root)
    cols = {"src_ids": [], "src_word_ids": [], "tgt_ids": [], "tgt_word_ids": []}
    for en, xx, _ in pairs:
        a, b = tokenize_words(tokenizer, en)
        c, d = tokenize_words(tokenizer, xx)
        cols["src_ids"].append(a)
        cols["src_word_ids"].append(b)
        cols["tgt_ids"].append(c)
        cols["tgt_word_ids"].append(d)
    data_dir = root / "tokenized" / name
    datasets.Dataset.from_dict(cols).save_to_disk(str(data_dir))
    align = root / "align" / name / "symmetrized.txt"
    align.parent.mkdir(parents=True, exist_ok=True)
    align.write_text("".join(a + "\n" for _, _, a in pairs))
    return data_dir, align


TINY_ARCH = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}


def make_base_model(path, tokenizer_dir, seed: int = 0, dropout: float = 0.1, arch: dict | None = None) -> Path:
    """A tiny random BertForMaskedLM saved with its tokenizer (what pretrain_base writes)."""
    from transformers import AutoTokenizer

    tiny_model(tokenizer_dir, seed, dropout, arch).save_pretrained(str(path))
    AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(str(path))
    return Path(path)


def tiny_model(tokenizer_dir, seed: int = 0, dropout: float = 0.0, arch: dict | None = None):
    """A tiny random BertForMaskedLM (``TINY_ARCH`` unless ``arch``), built from ``seed``."""
    import torch
    from transformers import AutoTokenizer

    from alignxfer.modeling import build_scratch_model

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(seed)
    return build_scratch_model(
        {**(arch or TINY_ARCH), "hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}, tokenizer
    )


#: the continued-pre-training budget of the loop tests (tests override single keys)
TINY_BUDGET = {
    "steps": 6,
    "batch_size": 4,
    "max_length": 16,
    "learning_rate": 1e-3,
    "warmup_ratio": 0.2,
    "weight_decay": 0.01,
    "gradient_accumulation": 1,
    "max_grad_norm": 1.0,
}


def model_state(model_dir) -> dict:
    """The tensors of a saved model folder (``model.safetensors``), by name."""
    from safetensors.torch import load_file

    return load_file(str(Path(model_dir) / "model.safetensors"))
