"""A tiny Gemma-3-shaped GGUF written with the ``gguf`` package: a stand-in for the real 253 MB file.

Same architecture key, metadata layout, tensor names, special-token ids (``<pad>`` 0, ``<eos>`` 1,
``<bos>`` 2, ``<start_of_turn>`` 105, ``<end_of_turn>`` 106) and a mix of F32 and Q8_0 tensors, so
transformers' GGUF loader dequantises it the way it does the real one. Random weights.
"""

from __future__ import annotations

import string
from pathlib import Path

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN = 64, 2, 2, 1, 32, 128
SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
CONTROL, NORMAL, USER_DEFINED, BYTE = 3, 1, 4, 6


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens = SPECIAL + [f"<unused{i}>" for i in range(105 - len(SPECIAL))]
    tokens += ["<start_of_turn>", "<end_of_turn>", "\n"]
    types = [CONTROL] * 107 + [USER_DEFINED]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [BYTE] * 256
    pieces = ["\u2581", *string.ascii_letters, *string.digits, *string.punctuation]
    pieces += ["\u2581t", "he", "\u2581the", "in", "er", "\u2581a", "on", "\u2581s", "re", "at"]
    tokens += pieces
    types += [NORMAL] * len(pieces)
    scores = [
        -1000.0 if kind in (CONTROL, USER_DEFINED) else -float(i) for i, kind in enumerate(types)
    ]
    return tokens, scores, types


def write_fake_gemma_gguf(path: str | Path, seed: int = 0) -> Path:
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType
    from gguf.quants import quantize

    path = Path(path)
    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def norm(size: int) -> np.ndarray:  # llama.cpp stores Gemma norms as 1 + w
        return (1.0 + rng.standard_normal(size) * 0.01).astype(np.float32)

    writer = GGUFWriter(path, "gemma3")
    writer.add_name("fake gemma 3")
    writer.add_context_length(512)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(10000.0)
    writer.add_sliding_window(64)
    writer.add_file_type(LlamaFileType.MOSTLY_Q8_0)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)

    q8 = GGMLQuantizationType.Q8_0
    embedding = weights(len(tokens), HIDDEN)
    writer.add_tensor("token_embd.weight", quantize(embedding, q8), raw_dtype=q8)
    writer.add_tensor("output_norm.weight", norm(HIDDEN))
    for layer in range(LAYERS):
        block = f"blk.{layer}"
        linear = {
            "attn_q": (HEADS * HEAD_DIM, HIDDEN),
            "attn_k": (KV_HEADS * HEAD_DIM, HIDDEN),
            "attn_v": (KV_HEADS * HEAD_DIM, HIDDEN),
            "attn_output": (HIDDEN, HEADS * HEAD_DIM),
            "ffn_gate": (FFN, HIDDEN),
            "ffn_up": (FFN, HIDDEN),
            "ffn_down": (HIDDEN, FFN),
        }
        for name, shape in linear.items():
            if name in ("attn_q", "ffn_up"):  # some quantised, as in the real file
                writer.add_tensor(
                    f"{block}.{name}.weight", quantize(weights(*shape), q8), raw_dtype=q8
                )
            else:
                writer.add_tensor(f"{block}.{name}.weight", weights(*shape))
        for name, size in {
            "attn_norm": HIDDEN,
            "attn_q_norm": HEAD_DIM,
            "attn_k_norm": HEAD_DIM,
            "post_attention_norm": HIDDEN,
            "ffn_norm": HIDDEN,
            "post_ffw_norm": HIDDEN,
        }.items():
            writer.add_tensor(f"{block}.{name}.weight", norm(size))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
