"""The pre-training objectives, masking and data handling, on tiny offline fixtures."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from alignxfer import data as D
from alignxfer.modeling import encode, masked_logits, mlm_head, mlm_loss
from alignxfer.objectives import OBJECTIVES
from alignxfer.objectives.contrastive import ranking_loss
from alignxfer.objectives.mlm import masked_side
from alignxfer.objectives.weam import WEAMObjective, alignment_matrix
from tests.helpers_models import PAIRS, tiny_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fixture(tmp_path_factory, tiny_tokenizer, tiny_pairs):
    root = tmp_path_factory.mktemp("obj")
    data_dir, align = tiny_pairs  # the shared fixtures of tests/conftest.py
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_tokenizer))
    specials = D.Specials.from_tokenizer(tokenizer)
    examples = D.load_pairs(data_dir, align, max_length=32)
    return {
        "root": root,
        "tok": tiny_tokenizer,
        "data": data_dir,
        "align": align,
        "specials": specials,
        "examples": examples,
    }


def _objective(name, fx, **options):
    return OBJECTIVES[name].load()(options, fx["specials"], 32)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_loss_finite_and_falls(fixture, name):
    options = {"mask_prob": 0.3} if "mask_prob" in OBJECTIVES[name].defaults() else {}
    obj = _objective(name, fixture, **options)
    model = tiny_model(fixture["tok"], seed=0)
    obj.check_model(model)
    obj.setup(model, torch.device("cpu"))
    batch = obj.collate(fixture["examples"], D.stateless_generator(0, 0, 0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss, parts = obj.loss(model, batch)
        assert torch.isfinite(loss)
        assert set(parts) == set(obj.components)
        assert all(torch.isfinite(torch.as_tensor(v)) for v in parts.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0], losses


def test_registry_alignment_flags():
    assert {n for n, c in OBJECTIVES.items() if c.needs_alignment} == {"weam", "word_aligned"}
    assert all(OBJECTIVES[n].load().needs_alignment == OBJECTIVES[n].needs_alignment for n in OBJECTIVES)
    with pytest.raises(ValueError, match="unknown option"):
        OBJECTIVES["mlm"].load()({"lambda": 1}, None, 32)


def test_mlm_head_only_at_masked_positions_matches_full(fixture):
    model = tiny_model(fixture["tok"], seed=1).eval()
    side = masked_side([e.src for e in fixture["examples"]], fixture["specials"], 0.4, D.stateless_generator(5))
    hidden = encode(model, side["input_ids"], side["attention_mask"])
    ours = mlm_loss(model, hidden, side["labels"])
    full_logits = mlm_head(model)(hidden)
    full = F.cross_entropy(full_logits.view(-1, full_logits.shape[-1]), side["labels"].view(-1))
    hf = model(input_ids=side["input_ids"], attention_mask=side["attention_mask"], labels=side["labels"]).loss
    assert torch.allclose(ours, full, atol=1e-5)
    assert torch.allclose(ours, hf, atol=1e-5)
    chosen = side["labels"] != -100
    assert masked_logits(model, hidden, chosen).shape == (int(chosen.sum()), full_logits.shape[-1])


def test_masking_rate_specials_and_80_10_10(fixture):
    sp = fixture["specials"]
    gen = D.stateless_generator(3)
    contents = [[5 + (i * 7 + k) % 30 for k in range(20)] for i in range(400)]
    side = D.encode_side(contents, sp)
    inputs, labels = D.mask_tokens(side["input_ids"], side["content"], 0.15, gen, sp)
    chosen = labels != -100
    assert not chosen[~side["content"]].any()  # never [CLS], [SEP] or padding
    assert abs(chosen.sum().item() / side["content"].sum().item() - 0.15) < 0.01
    as_mask = (inputs == sp.mask) & chosen
    kept = (inputs == side["input_ids"]) & chosen
    frac_mask = as_mask.sum().item() / chosen.sum().item()
    assert 0.75 < frac_mask < 0.85
    assert 0.05 < kept.sum().item() / chosen.sum().item() < 0.16  # 10% kept (+ random hits of itself)
    assert (labels[chosen] == side["input_ids"][chosen]).all()
    assert not ((inputs != side["input_ids"]) & ~chosen).any()
    replaced = chosen & ~as_mask & ~kept
    assert not torch.isin(inputs[replaced], torch.tensor(sp.special_ids)).any()


def test_tlm_masks_both_sides_segments_and_positions(fixture):
    ex = fixture["examples"]
    for reset in (True, False):
        obj = _objective("tlm", fixture, mask_prob=0.5, reset_positions=reset)
        b = obj.collate(ex, D.stateless_generator(1))["pair"]
        for row, e in enumerate(ex):
            n, m = len(e.src), len(e.tgt)
            assert b["input_ids"][row, 0] == fixture["specials"].cls
            assert b["input_ids"][row, n + 1] == fixture["specials"].sep
            assert b["input_ids"][row, n + m + 2] == fixture["specials"].sep
            # segment 0 on both sides: fine-tuning and test never see segment 1 (untrained in the base)
            assert b["token_type_ids"][row].eq(0).all()
            pos = b["position_ids"][row, : n + m + 3].tolist()
            if reset:
                assert pos == list(range(n + 2)) + list(range(1, m + 2))
            else:
                assert pos == list(range(n + m + 3))
        labels = b["labels"]
        # every row with at least 2 subwords per side gets masks on each side at p=0.5
        for row, e in enumerate(ex):
            n = len(e.src)
            assert (labels[row, 1 : n + 1] != -100).any()
            assert (labels[row, n + 2 :] != -100).any()


def test_weam_alignment_matrix_first_vs_all(fixture):
    # "the dog sees the cats" / "der hund sieht die katzen": cat ##s and katze ##n (2 subwords each)
    e = fixture["examples"][5]
    assert len(e.src) == len(e.tgt) == len(e.tgt_words) == 6
    A_first = alignment_matrix([e], len(e.src) + 2, len(e.tgt) + 2, "first")[0]
    A_all = alignment_matrix([e], len(e.src) + 2, len(e.tgt) + 2, "all")[0]
    assert A_first.sum() == 5  # one entry per link
    assert A_all.sum() == 8  # 4 one-subword links + (cat ##s) x (katze ##n)
    # position p = k + 1; word 4 is subwords 4, 5 -> positions 5, 6 on both sides
    assert A_first[5, 5] == 1 and A_first[5, 6] == 0 and A_first[6, 5] == 0 and A_first[6, 6] == 0
    assert A_all[5:7, 5:7].eq(1).all()
    mats = WEAMObjective.swap_matrices(A_all.unsqueeze(0))
    assert torch.allclose(mats["A_x"][0, 5], torch.tensor([0, 0, 0, 0, 0, 0.5, 0.5, 0]))
    assert torch.allclose(mats["A_y"][0].sum(-1)[mats["aligned_y"][0]], torch.ones(6))
    assert not mats["aligned_x"][0, 0] and not mats["aligned_y"][0, 0]  # [CLS] never aligned


def test_weam_scrambled_alignment_changes_cp(fixture):
    obj = _objective("weam", fixture, mask_prob=0.4)
    model = tiny_model(fixture["tok"], seed=2).eval()
    ex = fixture["examples"]
    scrambled = []
    for e in ex:
        e2 = copy.copy(e)
        n_tgt = max(e.tgt_words) + 1
        e2.links = [(i, (j + 1) % n_tgt) for i, j in e.links]
        scrambled.append(e2)
    with torch.no_grad():
        _, good = obj.loss(model, obj.collate(ex, D.stateless_generator(9)))
        _, bad = obj.loss(model, obj.collate(scrambled, D.stateless_generator(9)))
    assert torch.allclose(good["mp"], bad["mp"])  # same masking, same MP
    assert not torch.allclose(good["cp"], bad["cp"])


@pytest.mark.parametrize("swap_layer,mapping", [(-1, "first"), (1, "first"), (0, "first"), (-2, "first"), (-1, "all")])
def test_weam_self_aligned_pair_swapped_equals_ordinary(fixture, swap_layer, mapping):
    """x == y, identity word alignment, identical masking: the swapped prediction is the ordinary one."""
    obj = _objective("weam", fixture, mask_prob=0.4, swap_layer=swap_layer, subword_mapping=mapping)
    model = tiny_model(fixture["tok"], seed=3).eval()
    selfs = []
    for e in fixture["examples"]:
        n_words = max(e.src_words) + 1
        selfs.append(D.PairExample(e.tgt, e.tgt_words, e.tgt, e.tgt_words, [(i, i) for i in range(n_words)]))
    x = masked_side([e.src for e in selfs], fixture["specials"], 0.4, D.stateless_generator(4))
    y = {k: v.clone() for k, v in x.items()}  # identical masking
    width = x["input_ids"].shape[1]
    A = alignment_matrix(selfs, width, width, mapping)
    batch = {"x": x, "y": y, **WEAMObjective.swap_matrices(A)}
    # with "all", a multi-subword word's subwords average over the word: compare one-link rows only
    single = A.sum(2) == 1
    with torch.no_grad():
        out = obj.forward(model, batch)
        for h, s, labels in ((out["hx"], out["sx"], x["labels"]), (out["hy"], out["sy"], y["labels"])):
            sel = (labels != -100) & single
            assert sel.sum() > 0
            assert torch.allclose(masked_logits(model, h, sel), masked_logits(model, s, sel), atol=1e-5)
        _, parts = obj.loss(model, batch)
    if mapping == "first":
        assert torch.isfinite(parts["cp"]) and float(parts["cp"]) > 0


def test_weam_all_mapping_self_alignment_averages_word(fixture):
    # with "all", a 2-subword word aligned to itself averages its subwords: no longer identical
    e = fixture["examples"][5]
    A = alignment_matrix([D.PairExample(e.tgt, e.tgt_words, e.tgt, e.tgt_words, [(4, 4)])], 8, 8, "all")[0]
    assert A[5:7, 5:7].sum() == 4


def test_word_aligned_one_to_one_and_last_subword(fixture):
    assert D.one_to_one([(0, 0), (1, 1), (1, 2), (2, 3), (3, 3), (4, 5)]) == [(0, 0), (4, 5)]
    obj = _objective("word_aligned", fixture)
    e = fixture["examples"][5]  # ... cats = cat ##s, katzen = katze ##n: last subwords at position 6
    b = obj.collate([e], D.stateless_generator(0))
    assert b["link_p"].tolist() == [1, 2, 3, 4, 6]
    assert b["link_q"].tolist() == [1, 2, 3, 4, 6]
    assert "labels" not in b["x"]  # unmasked inputs


def test_word_aligned_anchor_zero_for_initial_model(fixture):
    obj = _objective("word_aligned", fixture, anchor_weight=1.0)
    model = tiny_model(fixture["tok"], seed=4, dropout=0.1)  # dropout on, as in training: the anchor is still 0
    obj.setup(model, torch.device("cpu"))
    model.train()
    with torch.no_grad():
        _, parts = obj.loss(model, obj.collate(fixture["examples"], D.stateless_generator(0)))
    assert model.training  # the loop's mode is restored
    assert float(parts["anchor"]) == pytest.approx(0.0, abs=1e-8)
    assert float(parts["align"]) > 0


def test_contrastive_ranking_margin_and_false_negatives(fixture):
    torch.manual_seed(0)
    u = torch.randn(6, 16)
    matched = ranking_loss(u, u + 0.01 * torch.randn(6, 16), margin=0.3, scale=20.0)
    shuffled = ranking_loss(u, u[torch.randperm(6)], margin=0.3, scale=20.0)
    assert matched < shuffled
    no_margin = ranking_loss(u, u, margin=0.0, scale=20.0)
    assert ranking_loss(u, u, margin=0.3, scale=20.0) > no_margin
    # a duplicate English sentence in the batch is not a negative
    obj = _objective("contrastive", fixture)
    ex = fixture["examples"]
    dup = D.PairExample(ex[0].src, ex[0].src_words, ex[1].tgt, ex[1].tgt_words)
    b = obj.collate([ex[0], ex[2], dup], D.stateless_generator(0))
    assert b["same"].tolist() == [[True, False, True], [False, True, False], [True, False, True]]
    assert b["x"]["input_ids"].shape[0] == 6  # clean + masked copies
    assert (b["x"]["labels"][:3] == -100).all()


def test_contrastive_without_mlm(fixture):
    obj = _objective("contrastive", fixture, mlm_weight=0.0, pooling="cls")
    model = tiny_model(fixture["tok"], seed=5)
    b = obj.collate(fixture["examples"], D.stateless_generator(0))
    assert b["x"]["input_ids"].shape[0] == len(fixture["examples"])
    loss, parts = obj.loss(model, b)
    assert float(parts["mlm"]) == 0.0 and torch.isfinite(loss)


# --------------------------------------------------------------------------------------------
# data


def test_bad_alignment_line_count(fixture, tmp_path):
    bad = tmp_path / "short.txt"
    bad.write_text("".join(a + "\n" for _, _, a in PAIRS[:-1]))
    with pytest.raises(ValueError, match=r"short\.txt.*7 alignment lines.*8 rows"):
        D.load_pairs(fixture["data"], bad)


def test_bad_alignment_index(fixture, tmp_path):
    lines = [a for _, _, a in PAIRS]
    lines[2] = "0-0 1-1 2-2 3-4"  # "die katze frisst fisch" has 4 words: index 4 is out of range
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3: target word index 4"):
        D.load_pairs(fixture["data"], bad)
    lines[2] = "9-0"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3: English word index 9"):
        D.load_pairs(fixture["data"], bad)
    lines[2] = "0:0"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3: '0:0'"):
        D.load_pairs(fixture["data"], bad)


def test_truncation_drops_links(fixture):
    ex = D.load_pairs(fixture["data"], fixture["align"], max_length=5)  # 3 content subwords
    e = ex[4]  # the cat is on the mat / die katze ist auf der matte
    assert len(e.src) == 3 and len(e.tgt) == 3
    assert e.links == [(0, 0), (1, 1), (2, 2)]


def test_bucket_batcher_deterministic_and_bucketed():
    lengths = [(i * 37) % 97 + 1 for i in range(1000)]
    a = D.BucketBatcher(lengths, 16, seed=1, pool=10)
    b = D.BucketBatcher(lengths, 16, seed=1, pool=10)
    seq_a = [a.next() for _ in range(150)]
    seq_b = [b.next() for _ in range(150)]
    assert seq_a == seq_b
    assert a.epoch == 2  # 62 full batches per epoch (the incomplete one is dropped)
    assert all(len(x) == 16 for x in seq_a)
    first_epoch = sorted(i for batch in seq_a[:62] for i in batch)
    assert len(set(first_epoch)) == len(first_epoch) == 992
    spread = sum(max(lengths[i] for i in x) - min(lengths[i] for i in x) for x in seq_a) / len(seq_a)
    assert spread < 15  # random batches would spread ~90
    c = D.BucketBatcher(lengths, 16, seed=1, pool=10)
    c.load_state_dict(a.state_dict())
    assert c.next() == a.next()
    assert D.BucketBatcher(lengths, 16, seed=2).next() != D.BucketBatcher(lengths, 16, seed=1).next()
