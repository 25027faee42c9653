"""Writes a small two-camera model package, format /3, for tests (not a policy: its weights are random).

    /usr/bin/python3 models/tiny-vla/tooling/two_camera_fixture.py models/test-fixtures/two-camera
    /usr/bin/python3 models/tiny-vla/tooling/two_camera_fixture.py --openvla models/test-fixtures/openvla-conventions

With --openvla the package also follows OpenVLA's text and token conventions: a Llama-2-style BPE
tokenizer.json (tokenizer_json.py llama-bpe: 620 tokens, <PAD> = 620), OpenVLA's prompt template
lower-cased, <s> from the tokenizer, a lone "▁" appended, left padding to L = 24; action tokens as
the last 256 ids of the 620-token vocabulary (token = 620 - bin) and logits padded to 640, as
OpenVLA's 32000 tokens are padded to 32064. The prompt ids in parity.json come from a small BPE
encoder here, so the tests also check that the tokenizers library (the server's) agrees with it.

It exists so the multi-camera path runs through real ONNX graphs: the prefill graph takes
`image.third_person uint8 [B,64,64,3]` and `image.wrist uint8 [B,32,32,3]` (different sizes, so a
mix-up cannot pass), the tiny VLA's instruction words, proprio and action profile, and the package
carries parity.json from PyTorch, so `vla model check` proves ONNX Runtime gets each camera's frames
where the graph expects them. One transformer layer, d_model 32, prefix-LM attention, per-layer KV
cache I/O exactly as docs/model-package.md specifies. Seeded: the same files every run.
"""
import argparse
import json
import os
import re
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..")
CAMERAS = (("third_person", 64, 64), ("wrist", 32, 32))
GRID = 4  # each camera becomes GRID x GRID tokens
D, HEADS, HEAD_DIM, FF = 32, 2, 16, 64
MAX_POSITIONS = 96  # the longest prompt here (57 with --openvla) plus 28 action tokens
OPSET = 17


class TwoCameraVla(nn.Module):
    def __init__(self, vocab, instruction_len, proprio_len):
        super().__init__()
        self.vocab = vocab
        self.cell = nn.ModuleList(nn.Linear(3, D) for _ in CAMERAS)
        self.cell_position = nn.Parameter(torch.randn(len(CAMERAS), GRID * GRID, D) * 0.5)
        self.token = nn.Embedding(vocab, D)
        self.position = nn.Embedding(MAX_POSITIONS, D)
        self.proprio = nn.Linear(proprio_len, D)
        self.ln1 = nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D)
        self.out = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.ff = nn.Sequential(nn.Linear(D, FF), nn.GELU(), nn.Linear(FF, D))
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, vocab)
        self.prompt_length = len(CAMERAS) * GRID * GRID + instruction_len + 1

    def camera_tokens(self, index, image):
        x = image.float().permute(0, 3, 1, 2) / 255.0                       # [B, 3, H, W]
        cells = F.adaptive_avg_pool2d(x, GRID).flatten(2).transpose(1, 2)     # [B, 16, 3]
        return self.cell[index](cells - 0.5) + self.cell_position[index]

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, HEADS, HEAD_DIM).transpose(1, 2)                  # [B, h, t, hd]

    def block(self, x, past_k, past_v, bias):
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = self.heads(q), self.heads(k), self.heads(v)
        keys = k if past_k is None else torch.cat([past_k, k], dim=2)
        values = v if past_v is None else torch.cat([past_v, v], dim=2)
        scores = q @ keys.transpose(-1, -2) / HEAD_DIM ** 0.5
        if bias is not None:
            scores = scores + bias
        attended = (scores.softmax(-1) @ values).transpose(1, 2).reshape(x.shape[0], x.shape[1], D)
        x = x + self.out(attended)
        x = x + self.ff(self.ln2(x))
        return x, keys, values

    def prefill(self, third_person, wrist, instruction_ids, proprio):
        tokens = torch.cat([self.camera_tokens(0, third_person), self.camera_tokens(1, wrist),
                            self.token(instruction_ids), self.proprio(proprio).unsqueeze(1)], dim=1)
        positions = torch.arange(tokens.shape[1])
        x, k, v = self.block(tokens + self.position(positions), None, None, None)   # the prompt: bidirectional
        return self.head(self.ln_f(x[:, -1])), k, v

    def decode(self, token_ids, position_ids, past_k, past_v, attention_mask):
        x = self.token(token_ids) + self.position(position_ids)               # [B, 1, D]
        bias = ((1.0 - attention_mask) * -1e9)[:, None, None, :]              # [B, 1, 1, T + 1]
        x, k, v = self.block(x, past_k, past_v, bias)
        return self.head(self.ln_f(x[:, -1])), k, v


class Prefill(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, third_person, wrist, instruction_ids, proprio):
        return self.model.prefill(third_person, wrist, instruction_ids, proprio)


class Decode(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, token_ids, position_ids, past_k, past_v, attention_mask):
        return self.model.decode(token_ids, position_ids, past_k, past_v, attention_mask)


def flat(t):
    return t.detach().reshape(-1).tolist()


OPENVLA_PROMPT = "In: What action should the robot take to {instruction}?\nOut:"
SPACE = "\u2581"


def bpe_prompt_ids(tokenizer, instruction, length, pad_id):
    """OpenVLA's prompt for `instruction` as ids of our Llama-style tokenizer, left-padded to `length`.

    The tokenizer's normalizer prepends ▁ and turns spaces into ▁. No merge of this tokenizer
    contains a ▁ after a piece's start or a newline, so merging each ▁-word (and each newline) on its
    own is the same as merging the whole text; characters without a token become <0xNN> bytes.
    Then OpenVLA's rule: a lone ▁ is appended unless the prompt already ends with it.
    """
    vocab = tokenizer["model"]["vocab"]
    ranks = {tuple(m.split(" ")): r for r, m in enumerate(tokenizer["model"]["merges"])}
    text = SPACE + OPENVLA_PROMPT.format(instruction=instruction.lower()).replace(" ", SPACE)
    ids = [vocab["<s>"]]
    for word in re.findall(SPACE + "[^" + SPACE + "\n]*|\n|[^" + SPACE + "\n]+", text):
        pieces = list(word)
        while len(pieces) > 1:
            rank, i = min((ranks.get(pair, 1 << 30), i) for i, pair in enumerate(zip(pieces, pieces[1:])))
            if rank == 1 << 30:
                break
            pieces[i:i + 2] = [pieces[i] + pieces[i + 1]]
        for piece in pieces:
            if piece in vocab:
                ids.append(vocab[piece])
            else:
                ids.extend(vocab[f"<0x{b:02X}>"] for b in piece.encode("utf-8"))
    if ids[-1] != vocab[SPACE]:
        ids.append(vocab[SPACE])
    return [pad_id] * (length - len(ids)) + ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="models/test-fixtures/two-camera")
    ap.add_argument("--openvla", action="store_true", help="OpenVLA's tokenizer, prompt and token conventions")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    shipped = json.load(open(os.path.join(SHIPPED, "model.json")))
    profile = dict(shipped["action"]["profile"])
    text = shipped["text"]
    skills_for_parity = ("grasp the red block", "move above the plate")
    if args.openvla:
        sys.path.insert(0, HERE)
        import tokenizer_json  # noqa: E402
        tokenizer = tokenizer_json.llama_bpe(200, 256)
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False, indent=1)
            f.write("\n")
        text_size = len(tokenizer["model"]["vocab"])           # 620; <PAD> is 620
        pad_id = text_size
        vocab = 640                                            # logits padded as OpenVLA's 32000 -> 32064
        length = 24
        profile["vocab_size"] = text_size                      # action tokens: 620 - bin, the last 256 ids
        text = {"tokenizer": "tokenizer.json", "prompt": OPENVLA_PROMPT, "lowercase_instruction": True,
                "add_special_tokens": True, "suffix_tokens": [SPACE], "max_prompt_tokens": length,
                "pad_token": "<PAD>", "padding": "left"}
        ids = [bpe_prompt_ids(tokenizer, skill, length, pad_id) for skill in skills_for_parity]
    else:
        vocab = shipped["vocab_size"]
        length = text["max_instruction_tokens"]
        words = {w: i for i, w in enumerate(text["vocab"])}
        ids = []
        for skill in skills_for_parity:
            row = [text["bos_id"]] + [words[w] for w in skill.split()]
            ids.append(row + [text["pad_id"]] * (length - len(row)))
    proprio_len = len(shipped["proprio_names"])
    model = TwoCameraVla(vocab, length, proprio_len).eval()
    t0 = model.prompt_length

    # Export with B = 2 and T = T0 examples; B and T are dynamic.
    rng = np.random.default_rng(3)
    third = torch.from_numpy(rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8))
    wrist = torch.from_numpy(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    instruction = torch.tensor(ids, dtype=torch.int64)
    proprio = torch.tensor([[0.5, 0.0, 0.2, 0, 0, 0, 1, 1], [0.4, 0.1, 0.15, 0, 0, 0, 1, 0]], dtype=torch.float32)
    names = [f"image.{name}" for name, _, _ in CAMERAS]
    torch.onnx.export(
        Prefill(model), (third, wrist, instruction, proprio), os.path.join(out, "prefill.onnx"), opset_version=OPSET,
        input_names=names + ["instruction_ids", "proprio"],
        output_names=["logits", "present.0.key", "present.0.value"],
        dynamic_axes={**{n: {0: "B"} for n in names}, "instruction_ids": {0: "B"}, "proprio": {0: "B"},
                      "logits": {0: "B"}, "present.0.key": {0: "B"}, "present.0.value": {0: "B"}})
    with torch.no_grad():
        logits, k, v = model.prefill(third, wrist, instruction, proprio)
    token = torch.full((2, 1), vocab - 1, dtype=torch.int64)
    position = torch.full((2, 1), t0, dtype=torch.int64)
    mask = torch.ones(2, t0 + 1)
    torch.onnx.export(
        Decode(model), (token, position, k, v, mask), os.path.join(out, "decode.onnx"), opset_version=OPSET,
        input_names=["token_ids", "position_ids", "past_key_values.0.key", "past_key_values.0.value",
                     "attention_mask"],
        output_names=["logits", "present.0.key", "present.0.value"],
        dynamic_axes={"token_ids": {0: "B"}, "position_ids": {0: "B"},
                      "past_key_values.0.key": {0: "B", 2: "T"}, "past_key_values.0.value": {0: "B", 2: "T"},
                      "attention_mask": {0: "B", 1: "T+1"}, "logits": {0: "B"},
                      "present.0.key": {0: "B", 2: "T+1"}, "present.0.value": {0: "B", 2: "T+1"}})

    # Parity: the batch of two through prefill and three greedy steps in the first dimensions' slices.
    first_action = profile["vocab_size"] - profile["bins"]
    end_action = profile["vocab_size"]                          # logits past it are padding
    steps = []
    with torch.no_grad():
        logits, k, v = model.prefill(third, wrist, instruction, proprio)
        prefill_logits = logits
        for s in range(3):
            token = (logits[:, first_action:end_action].argmax(-1) + first_action).unsqueeze(1)
            position = torch.full((2, 1), t0 + s, dtype=torch.int64)
            mask = torch.ones(2, t0 + s + 1)
            if s == 2:
                mask[1, 3] = 0  # a hidden cache slot changes the second row only
            logits, k, v = model.decode(token, position, k, v, mask)
            steps.append({"token_ids": flat(token), "position_ids": flat(position), "attention_mask": flat(mask),
                          "logits": flat(logits)})
    parity = {"cases": [{
        "images": {"third_person": flat(third.int()), "wrist": flat(wrist.int())},
        "image_shape": [2], "instruction_ids": flat(instruction), "proprio": flat(proprio),
        "prefill_logits": flat(prefill_logits), "decode_steps": steps}]}
    json.dump(parity, open(os.path.join(out, "parity.json"), "w"))

    manifest = {
        "format": "vla-serve-model/3",
        "name": "openvla-conventions-fixture" if args.openvla else "two-camera-fixture",
        "version": "1",
        "graphs": {"prefill": "prefill.onnx", "decode": "decode.onnx"},
        "images": [{"camera": name, "width": w, "height": h} for name, w, h in CAMERAS],
        "text": text,
        "proprio_names": shipped["proprio_names"],
        "action": {**shipped["action"], "profile": profile},
        "vocab_size": vocab,
        "architecture": {"layers": 1, "heads": HEADS, "head_dim": HEAD_DIM, "d_model": D, "prompt_length": t0,
                         "max_positions": MAX_POSITIONS, "opset": OPSET,
                         "note": "random weights, seed 7: a test fixture for the multi-camera path, not a policy"},
        "skills": shipped["skills"],
        "parity": {"file": "parity.json", "tolerance": 1e-4},
        "training": {"command": "/usr/bin/python3 models/tiny-vla/tooling/two_camera_fixture.py "
                     + ("--openvla " if args.openvla else "") + out,
                     "parity_prompts": {skill: row for skill, row in zip(skills_for_parity, ids)},
                     "torch": torch.__version__},
    }
    json.dump(manifest, open(os.path.join(out, "model.json"), "w"), indent=1)
    shutil.copy(os.path.join(SHIPPED, shipped["action"]["statistics"]), out)
    for name in ("prefill.onnx", "decode.onnx", "parity.json"):
        print(f"{name}: {os.path.getsize(os.path.join(out, name))} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
