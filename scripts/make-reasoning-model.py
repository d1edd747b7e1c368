#!/usr/bin/env python3
"""Builds, offline, a tiny Llama that "reasons" like Qwen3, for vLLM's CPU build to serve.

Its greedy reply is always `<think>` + REASONING tokens + `</think>` + answer tokens, whatever the
prompt: the weights are constructed, not random. Every layer's attention output and MLP output
projections are zero, so the last hidden state is the embedding of the current token; each token
of a chain gets its own embedding axis, and the LM head maps that axis to the chain's next token
(last prompt token `<|assistant|>` -> `<think>` -> r1 -> ... -> rK -> `</think>` -> a1 -> a2 -> a1 ...).
The chat template drops the reasoning of assistant messages before the last user message, as
Qwen3's does. The tokenizer is make-tiny-model.py's byte-level BPE plus `<think>` and `</think>`
(plain added tokens, so they stay in the reply's text).

Usage: python make-reasoning-model.py OUT_DIR   (the venv's python: tokenizers, torch, safetensors)
"""
import importlib.util
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken

REASONING_TOKENS = 56
THINK, END_THINK = "<think>", "</think>"
# Qwen3-style: an assistant message before the last user message loses everything up to </think>.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(last_user=-1) %}"
    "{% for message in messages %}{% if message['role'] == 'user' %}{% set ns.last_user = loop.index0 %}{% endif %}{% endfor %}"
    "{% for message in messages %}{% set content = message['content'] %}"
    "{% if message['role'] == 'assistant' and loop.index0 < ns.last_user and '</think>' in content %}"
    "{% set content = content.split('</think>')[-1].lstrip('\\n') %}{% endif %}"
    "<|{{ message['role'] }}|>{{ content }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def load_tiny():
    path = Path(__file__).with_name("make-tiny-model.py")
    spec = importlib.util.spec_from_file_location("make_tiny_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def word_tokens(tokenizer, count: int) -> list[int]:
    """Tokens ' xyz' (a space and letters) that encode back to themselves, alone and in a row."""
    vocab = tokenizer.get_vocab()
    chosen = []
    for token, token_id in sorted(vocab.items(), key=lambda kv: kv[1]):
        if not (token.startswith("\u0120") and token[1:].isalpha() and len(token) >= 3):
            continue
        if tokenizer.encode(tokenizer.decode([token_id]), add_special_tokens=False).ids == [token_id]:
            chosen.append(token_id)
        if len(chosen) == count:
            return chosen
    raise SystemExit(f"only {len(chosen)} word tokens found, {count} needed")


def build(out_dir: Path) -> dict:
    tiny = load_tiny()
    tiny.write_model(out_dir)  # config, tokenizer files and template, overwritten below
    tokenizer = tiny.build_tokenizer()
    tokenizer.add_tokens([AddedToken(THINK, special=False, normalized=False), AddedToken(END_THINK, special=False, normalized=False)])
    tokenizer.save(str(out_dir / "tokenizer.json"))
    ids = lambda text: tokenizer.token_to_id(text)  # noqa: E731
    words = word_tokens(tokenizer, REASONING_TOKENS + 2)
    reasoning, answer = words[:REASONING_TOKENS], words[REASONING_TOKENS:]
    chain = [ids("<|assistant|>"), ids(THINK), *reasoning, ids(END_THINK), *answer]
    # The reply as text must encode back to the generated ids, or no reply could ever be a cache hit.
    reply = chain[1:] + answer * 3
    assert tokenizer.encode(tokenizer.decode(reply, skip_special_tokens=False), add_special_tokens=False).ids == reply, "reply does not re-encode"

    config = json.loads((out_dir / "config.json").read_text())
    vocab_size = tokenizer.get_vocab_size()
    hidden, layers, inter = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    kv_dim = config["num_key_value_heads"] * config["head_dim"]
    assert len(chain) <= hidden, "one embedding axis per chain token"
    config.update(vocab_size=vocab_size)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer_config = json.loads((out_dir / "tokenizer_config.json").read_text())
    tokenizer_config["chat_template"] = CHAT_TEMPLATE
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")

    embed = torch.zeros(vocab_size, hidden)
    head = torch.zeros(vocab_size, hidden)
    successor = {chain[i]: chain[i + 1] for i in range(len(chain) - 1)}
    successor[answer[-1]] = answer[0]  # the answer repeats
    for axis, token in enumerate(chain):
        embed[token, axis] = 1.0
        head[successor[token], axis] = 10.0
    tensors = {"model.embed_tokens.weight": embed, "lm_head.weight": head, "model.norm.weight": torch.ones(hidden)}
    for layer in range(layers):
        prefix = f"model.layers.{layer}"
        tensors[f"{prefix}.input_layernorm.weight"] = torch.ones(hidden)
        tensors[f"{prefix}.post_attention_layernorm.weight"] = torch.ones(hidden)
        tensors[f"{prefix}.self_attn.q_proj.weight"] = torch.zeros(hidden, hidden)
        tensors[f"{prefix}.self_attn.k_proj.weight"] = torch.zeros(kv_dim, hidden)
        tensors[f"{prefix}.self_attn.v_proj.weight"] = torch.zeros(kv_dim, hidden)
        tensors[f"{prefix}.self_attn.o_proj.weight"] = torch.zeros(hidden, hidden)
        tensors[f"{prefix}.mlp.gate_proj.weight"] = torch.zeros(inter, hidden)
        tensors[f"{prefix}.mlp.up_proj.weight"] = torch.zeros(inter, hidden)
        tensors[f"{prefix}.mlp.down_proj.weight"] = torch.zeros(hidden, inter)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out_dir / "model.safetensors"))
    return {
        "vocab_size": vocab_size,
        "reasoning_tokens": REASONING_TOKENS,
        "reply_prefix": tokenizer.decode(chain[1:], skip_special_tokens=False),
    }


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    print(json.dumps(build(Path(sys.argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
