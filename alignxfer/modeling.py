"""The encoder every arm trains: building, loading, encoding (whole or layer by layer), MLM loss.

The model on disk is always a Hugging Face masked-LM (``BertForMaskedLM`` for the scratch base);
objectives never call the model's own ``forward`` with labels: they encode with the base encoder
and apply the MLM prediction head **only to the hidden states of the positions being predicted**
(:func:`mlm_loss_sum`). With a 12k vocabulary and hidden size 256 the full vocabulary projection
costs as much as the whole 4-layer encoder per token, and only ~15% of the tokens are predicted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# devices and precision live in alignxfer.training (one probe for pre-training and fine-tuning);
# re-exported for the benchmarks
from alignxfer.training.precision import autocast, bf16_supported, resolve_bf16  # noqa: F401
from alignxfer.training.runtime import select_device  # noqa: F401

#: attention implementation used for every model we build or load (PyTorch's fused SDPA kernels)
ATTENTION = "sdpa"


# --------------------------------------------------------------------------------------------
# building and loading


def build_scratch_model(architecture: dict, tokenizer):
    """A randomly initialised ``BertForMaskedLM`` sized by ``architecture`` (config ``base.architecture``).

    Seed torch before calling for reproducible weights.
    """
    from transformers import BertConfig, BertForMaskedLM

    arch = dict(architecture)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.pop("hidden_size"),
        num_hidden_layers=arch.pop("num_hidden_layers"),
        num_attention_heads=arch.pop("num_attention_heads"),
        intermediate_size=arch.pop("intermediate_size"),
        max_position_embeddings=arch.pop("max_position_embeddings"),
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
        **arch,
    )
    config._attn_implementation = ATTENTION
    return BertForMaskedLM(config)


def load_mlm(path, revision=None):
    """Load a masked-LM (any ``AutoModelForMaskedLM``; a hub id at ``revision``) with SDPA attention, in fp32."""
    from transformers import AutoModelForMaskedLM

    extra = {"revision": revision} if revision else {}
    model = AutoModelForMaskedLM.from_pretrained(str(path), attn_implementation=ATTENTION, dtype=torch.float32, **extra)
    mlm_head(model)  # fail early on a model whose head we cannot find
    return model


def mlm_head(model):
    """The prediction head (hidden state -> vocabulary logits) of a masked-LM."""
    for name in ("cls", "lm_head"):
        head = getattr(model, name, None)
        if head is not None:
            return head
    raise ValueError(
        f"{type(model).__name__}: no masked-LM head found (expected a BERT-style 'cls' or a "
        "RoBERTa-style 'lm_head'); use a BertForMaskedLM-compatible model"
    )


def encoder(model):
    """The bare encoder (``model.bert`` for BERT)."""
    return model.base_model


def num_layers(model) -> int:
    return len(encoder(model).encoder.layer)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------
# encoding


def encode(model, input_ids, attention_mask, token_type_ids=None, position_ids=None) -> torch.Tensor:
    """Last-layer hidden states (batch, length, hidden)."""
    out = encoder(model)(
        input_ids=input_ids,
        attention_mask=attention_mask,
        token_type_ids=token_type_ids,
        position_ids=position_ids,
    )
    return out.last_hidden_state


def resolve_layer(model, layer: int) -> int:
    """A ``hidden_states`` index in 0..L: 0 = embedding output, i = output of encoder layer i,
    negative values count from the top (-1 = L = last layer)."""
    n = num_layers(model)
    resolved = layer if layer >= 0 else n + 1 + layer
    if not 0 <= resolved <= n:
        raise ValueError(f"layer {layer} is out of range for a model with {n} layers (allowed {-(n + 1)}..{n})")
    return resolved


def encode_until(model, input_ids, attention_mask, layer: int, token_type_ids=None, position_ids=None):
    """Hidden states at ``hidden_states[layer]`` (see :func:`resolve_layer`) and the attention mask
    in the form the layers take; continue with :func:`encode_from`."""
    enc = encoder(model)
    from transformers.masking_utils import create_bidirectional_mask

    hidden = enc.embeddings(input_ids=input_ids, token_type_ids=token_type_ids, position_ids=position_ids)
    mask = create_bidirectional_mask(config=enc.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for block in enc.encoder.layer[:layer]:
        hidden = block(hidden, mask)
    return hidden, mask


def encode_from(model, hidden, mask, layer: int) -> torch.Tensor:
    """Run encoder layers ``layer+1 .. L`` on ``hidden`` (the output of layer ``layer``)."""
    for block in encoder(model).encoder.layer[layer:]:
        hidden = block(hidden, mask)
    return hidden


# --------------------------------------------------------------------------------------------
# losses


def masked_logits(model, hidden: torch.Tensor, select: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits (N, V) for the positions where ``select`` (batch, length) is True only."""
    return mlm_head(model)(hidden[select])


def mlm_loss_sum(model, hidden: torch.Tensor, labels: torch.Tensor, select: torch.Tensor | None = None):
    """Summed cross-entropy over predicted positions, and their count.

    ``labels`` holds -100 where nothing is predicted; ``select`` (optional) restricts further.
    The head runs on the gathered positions only; the loss is computed in fp32.
    """
    chosen = labels != -100
    if select is not None:
        chosen = chosen & select
    count = int(chosen.sum())
    if count == 0:
        return hidden.sum() * 0.0, 0
    logits = masked_logits(model, hidden, chosen).float()
    return F.cross_entropy(logits, labels[chosen], reduction="sum"), count


def mean_of(total, count: int):
    return total / count if count else total


def mlm_loss(model, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the predicted positions (0 if none)."""
    total, count = mlm_loss_sum(model, hidden, labels)
    return mean_of(total, count)
