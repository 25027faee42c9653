"""Writes a small two-camera model package, format /3, for tests (not a policy: its weights are random).

    /usr/bin/python3 models/tiny-vla/tooling/two_camera_fixture.py models/test-fixtures/two-camera

It exists so the multi-camera path runs through real ONNX graphs: the prefill graph takes
`image.third_person uint8 [B,64,64,3]` and `image.wrist uint8 [B,32,32,3]` (different sizes, so a
mix-up cannot pass), the tiny VLA's instruction words, proprio and action profile, and the package
carries parity.json from PyTorch, so `vla model check` proves ONNX Runtime gets each camera's frames
where the graph expects them. One transformer layer, d_model 32, prefix-LM attention, per-layer KV
cache I/O exactly as docs/model-package.md specifies. Seeded: the same files every run.
"""
import json
import os
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
MAX_POSITIONS = 72
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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/test-fixtures/two-camera"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    shipped = json.load(open(os.path.join(SHIPPED, "model.json")))
    vocab = shipped["vocab_size"]
    length = shipped["text"]["max_instruction_tokens"]
    proprio_len = len(shipped["proprio_names"])
    model = TwoCameraVla(vocab, length, proprio_len).eval()
    t0 = model.prompt_length

    # Export with B = 2 and T = T0 examples; B and T are dynamic.
    rng = np.random.default_rng(3)
    third = torch.from_numpy(rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8))
    wrist = torch.from_numpy(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    words = {w: i for i, w in enumerate(shipped["text"]["vocab"])}
    ids = []
    for skill in ("grasp the red block", "move above the plate"):
        row = [shipped["text"]["bos_id"]] + [words[w] for w in skill.split()]
        ids.append(row + [shipped["text"]["pad_id"]] * (length - len(row)))
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
    profile = shipped["action"]["profile"]
    first_action = profile["vocab_size"] - profile["bins"]
    steps = []
    with torch.no_grad():
        logits, k, v = model.prefill(third, wrist, instruction, proprio)
        prefill_logits = logits
        for s in range(3):
            token = (logits[:, first_action:].argmax(-1) + first_action).unsqueeze(1)
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
        "name": "two-camera-fixture",
        "version": "1",
        "graphs": {"prefill": "prefill.onnx", "decode": "decode.onnx"},
        "images": [{"camera": name, "width": w, "height": h} for name, w, h in CAMERAS],
        "text": shipped["text"],
        "proprio_names": shipped["proprio_names"],
        "action": shipped["action"],
        "vocab_size": vocab,
        "architecture": {"layers": 1, "heads": HEADS, "head_dim": HEAD_DIM, "d_model": D, "prompt_length": t0,
                         "max_positions": MAX_POSITIONS, "opset": OPSET,
                         "note": "random weights, seed 7: a test fixture for the multi-camera path, not a policy"},
        "skills": shipped["skills"],
        "parity": {"file": "parity.json", "tolerance": 1e-4},
        "training": {"command": "/usr/bin/python3 models/tiny-vla/tooling/two_camera_fixture.py " + out,
                     "torch": torch.__version__},
    }
    json.dump(manifest, open(os.path.join(out, "model.json"), "w"), indent=1)
    shutil.copy(os.path.join(SHIPPED, shipped["action"]["statistics"]), out)
    for name in ("prefill.onnx", "decode.onnx", "parity.json"):
        print(f"{name}: {os.path.getsize(os.path.join(out, name))} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
