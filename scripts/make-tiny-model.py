#!/usr/bin/env python3
"""Builds, offline, the folder of a tiny Llama that vLLM's CPU build serves with random weights.

`vllm serve DIR --load-format dummy` needs no weights, only a config.json and a tokenizer. The
tokenizer is a byte-level BPE trained here with the `tokenizers` package on generated text (byte
level, so any prompt text encodes without unknown tokens), saved with a chat template: without one,
/v1/chat/completions answers 400. Deterministic: the same version of `tokenizers` gives the same files.

Usage: python make-tiny-model.py OUT_DIR   (run with the venv's python, which has `tokenizers`)
"""
import json
import random
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB_SIZE = 2048
SPECIAL_TOKENS = ["<|begin|>", "<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]
BOS, EOS, PAD = "<|begin|>", "<|end|>", "<|pad|>"
# One role marker per message, content, then <|end|>; the generation prompt opens an assistant turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

# 2 layers, hidden 64, 2 heads: head size 32, one of the sizes the CPU attention backend supports
# (vllm/v1/attention/backends/cpu_attn.py: 32, 64, 80, ...). KV cache in float32:
# 2 layers x (K+V) x 2 kv heads x 32 x 4 bytes = 1024 bytes per token.
MODEL_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "hidden_act": "silu",
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
    "attention_bias": False,
    "mlp_bias": False,
    "tie_word_embeddings": False,
    "initializer_range": 0.02,
    "torch_dtype": "float32",
    "dtype": "float32",
}


def training_text(seed: int = 7, lines: int = 4000) -> list[str]:
    """English-looking lines of made-up words plus digits and punctuation, for BPE merges."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "ing", "er", "an", "qu"]
    common = ["the", "a", "of", "to", "and", "is", "in", "it", "you", "that", "for", "on", "with", "what", "how"]
    words = common + ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(600)]
    out = []
    for _ in range(lines):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 16)))
        out.append(sentence.capitalize() + rng.choice([".", "?", "!", ",", ": 42.", " (1, 2, 3)."]))
    return out


def build_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_text(), trainer=trainer)
    return tokenizer


def write_model(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    tokenizer.save(str(out_dir / "tokenizer.json"))
    ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    config = dict(MODEL_CONFIG)
    config.update(vocab_size=tokenizer.get_vocab_size(), bos_token_id=ids[BOS], eos_token_id=ids[EOS], pad_token_id=ids[PAD])
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "model_max_length": config["max_position_embeddings"],
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    files = {
        "config.json": config,
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD},
        "generation_config.json": {"bos_token_id": ids[BOS], "eos_token_id": ids[EOS], "pad_token_id": ids[PAD]},
    }
    for name, content in files.items():
        (out_dir / name).write_text(json.dumps(content, indent=2) + "\n")
    return {"vocab_size": config["vocab_size"], "kv_bytes_per_token": 2 * 2 * 2 * 32 * 4}


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    summary = write_model(Path(sys.argv[1]))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
