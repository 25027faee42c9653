#!/usr/bin/env python3
"""Export an OpenVLA checkpoint (openvla/openvla-7b or a fine-tune) as a `vla-serve-model/3` package.

    python export_openvla.py --checkpoint openvla/openvla-7b --unnorm-key bridge_orig \
        --out models/openvla-7b-bridge [--max-prompt-tokens 48] [--dtype float32|float16] \
        [--device cpu|cuda] [--skill "put the carrot on the plate" ...] [--parity-image frame.png ...]

The recipe, its prerequisites and the package's known gaps: docs/openvla-export.md. The format:
docs/model-package.md.

Runs with OpenVLA's own Python stack (torch 2.2, transformers==4.40.1, tokenizers==0.19.1,
timm==0.9.10, plus onnx; onnxruntime optional) and the checkpoint's trust_remote_code model
(prismatic/extern/hf/modeling_prismatic.py). Writes into --out:

  prefill.onnx (+ .data)  image uint8 [B,S,S,3], instruction_ids int64 [B,L], proprio float32 [B,0]
                          -> logits float32 [B,V] at the last prompt position, present.{l}.key|value
  decode.onnx (+ .data)   token_ids, position_ids, past_key_values.{l}.key|value, attention_mask
                          -> logits, present.{l}.key|value
  tokenizer.json          the checkpoint's Hugging Face tokenizer (verified against the processor)
  dataset_statistics.json the chosen unnorm key's statistics
  parity.json             inputs and the Hugging Face model's own logits, for `vla model check`
  model.json              the manifest (written last: a failed export leaves no manifest)

How the graphs reproduce OpenVLA (PrismaticForConditionalGeneration.forward / predict_action):

  * Sequence: <s>, the projector's patch embeddings (256 for 224 px), then the rest of the prompt
    ("In: What action should the robot take to {instruction}?\\nOut:" and the lone "▁", id 29871,
    that predict_action appends). The prompt arrives LEFT-padded with <PAD> to L, so the prefill
    lays out [pads, <s>, patches, text] over T0 = L + patches positions: the last position is always
    the last prompt token, whose logits give the first action token.
  * Positions 0..T0-1 for every row, pads included. Llama's rotary embedding depends only on the
    distance between positions, so real tokens starting at position p (the row's pad count) attend
    as they do from 0 in the unpadded Hugging Face run (the same up to float rounding); decode
    positions T0 + k are what the server already sends.
  * Pads are masked inside the prefill (found as <PAD> ids; no mask input needed), and their keys
    and values are written as zeros into the present cache. The decode graph masks every cached
    position whose layer-0 head-0 key is all zeros, on top of the server's attention_mask, because
    today's server attends to all T0 prompt positions. A real key is never exactly zero.
  * Image preprocessing is in the prefill graph: x/255 then each vision tower's mean/std (DINOv2's
    ImageNet statistics, SigLIP's 0.5/0.5), read from the checkpoint's PrismaticImageProcessor, and
    channel-stacked as the fused backbone expects. The server only resizes to S x S and sends RGB.
  * The model takes no proprioception; proprio is a declared, unused input of width 0, because the
    server always feeds one (`proprio_names: []`).
  * The Llama layers are written out here (RMSNorm/MLP modules and projection weights are the
    checkpoint's own), not traced through transformers' cache classes; the script checks them
    against the Hugging Face model before exporting, and refuses to write a package that differs.

Memory: the 7.5 B parameters are ~30 GB in float32, ~15 GB in float16, and the exporter holds the
model and its ONNX copy at once: float32 wants ~100-128 GB of RAM (CPU export), float16 a CUDA GPU
with >= 24 GB plus ~64 GB of RAM. Weights go to external-data files (prefill.onnx.data,
decode.onnx.data) since one ONNX protobuf cannot exceed 2 GB; ONNX Runtime loads them from the
graph's folder. Both graphs carry the language model, so the package is ~57 GB (float32) or ~29 GB
(float16) on disk, and an export needs about one graph's size again as scratch space.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn as nn

FORMAT = "vla-serve-model/3"
DEFAULT_OPSET = 17  # as models/tiny-vla/tooling/export.py
PROMPT = "In: What action should the robot take to {instruction}?\nOut:"
SUFFIX_TOKEN = "\u2581"  # "▁", Llama id 29871: predict_action appends it to every prompt
SUFFIX_ID = 29871
KINDS = ("key", "value")
# ActionStatistics.toOpenVlaProfile's names (tokenizer-core), so the profile reads like the server's own.
EEF_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
# Control periods of datasets whose rate we know; any other key needs --step-period.
STEP_PERIODS = {
    "bridge_orig": 0.2, "bridge_dataset": 0.2,  # BridgeData V2: 5 Hz
    "fractal20220817_data": 1 / 3,              # RT-1 (fractal): 3 Hz
    "libero_spatial": 0.05, "libero_object": 0.05, "libero_goal": 0.05, "libero_10": 0.05,  # LIBERO: 20 Hz
}
PLACEHOLDER_SKILLS = ["pick up the red block", "put the spoon on the towel", "open the drawer"]
NEG = torch.finfo(torch.float32).min


def past_name(layer: int, kv: int) -> str:
    return f"past_key_values.{layer}.{KINDS[kv]}"  # the names of models/tiny-vla/tooling/kv_io.py


def present_name(layer: int, kv: int) -> str:
    return f"present.{layer}.{KINDS[kv]}"


# ---------------------------------------------------------------------------------------------
# The graphs. They hold the checkpoint's modules by reference: no weight is copied.
# ---------------------------------------------------------------------------------------------

def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaStack(nn.Module):
    """transformers 4.40.1's LlamaModel + lm_head, eager attention, with the cache as plain tensors."""

    def __init__(self, lm, compute_dtype):
        super().__init__()
        cfg = lm.config
        if getattr(cfg, "rope_scaling", None):
            raise SystemExit(f"rope_scaling {cfg.rope_scaling} is not supported by this exporter")
        if getattr(cfg, "pretraining_tp", 1) != 1:
            raise SystemExit("pretraining_tp > 1 is not supported by this exporter")
        self.embed_tokens = lm.model.embed_tokens
        self.layers = lm.model.layers
        self.norm = lm.model.norm
        self.lm_head = lm.lm_head
        self.hidden = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or self.heads
        self.head_dim = self.hidden // self.heads
        self.compute_dtype = compute_dtype
        theta = float(getattr(cfg, "rope_theta", 10000.0))
        device = self.lm_head.weight.device
        # LlamaRotaryEmbedding's inv_freq, computed in float32 whatever the weights' dtype.
        inv = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64, device=device).float()
                               / self.head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def rope(self, position_ids):
        """cos, sin [B or 1, 1, T, head_dim] for int64 positions [B or 1, T]."""
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(self.compute_dtype).unsqueeze(1), emb.sin().to(self.compute_dtype).unsqueeze(1)

    def layer(self, layer, h, cos, sin, past_k, past_v, mask_add):
        """One decoder layer. Returns h and this layer's whole cache (past + new) as float32."""
        b, t = h.shape[0], h.shape[1]
        attn = layer.self_attn
        x = layer.input_layernorm(h)
        q = attn.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = attn.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = attn.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # The format's cache is float32 whatever the weights are (a no-op for float32 graphs).
        k_all, v_all = k.to(torch.float32), v.to(torch.float32)
        if past_k is not None:
            k_all = torch.cat([past_k, k_all], dim=2)
            v_all = torch.cat([past_v, v_all], dim=2)
        k_att, v_att = k_all.to(self.compute_dtype), v_all.to(self.compute_dtype)
        if self.kv_heads != self.heads:
            rep = self.heads // self.kv_heads
            k_att = k_att.repeat_interleave(rep, dim=1)
            v_att = v_att.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k_att.transpose(2, 3)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores.to(torch.float32) + mask_add, dim=-1).to(self.compute_dtype)
        out = torch.matmul(probs, v_att).transpose(1, 2).reshape(b, t, self.hidden)
        h = h + attn.o_proj(out)
        h = h + layer.mlp(layer.post_attention_layernorm(h))
        return h, k_all, v_all

    def logits(self, h_last):
        return self.lm_head(self.norm(h_last))[:, 0, :].to(torch.float32)


class PrefillGraph(nn.Module):
    """image uint8 [B,S,S,3], instruction_ids int64 [B,L] (left-padded) -> logits, present.*"""

    def __init__(self, vision_backbone, projector, llama, means, stds, pad_id, max_prompt_tokens, image_tokens):
        super().__init__()
        self.vision_backbone = vision_backbone
        self.projector = projector
        self.llama = llama
        self.towers = len(means)
        device = llama.inv_freq.device
        self.register_buffer("mean", torch.tensor([c for m in means for c in m], dtype=torch.float32,
                                                  device=device).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([c for s in stds for c in s], dtype=torch.float32,
                                                 device=device).view(1, -1, 1, 1), persistent=False)
        self.pad_id = int(pad_id)
        self.L = int(max_prompt_tokens)
        self.P = int(image_tokens)

    def pixel_values(self, image):
        # PrismaticImageProcessor on an S x S frame: resize and centre crop are identities, then
        # TVF.to_tensor (/255) and TVF.normalize per tower, channel-stacked [B, 3 * towers, S, S].
        x = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        x = torch.cat([x] * self.towers, dim=1)
        return (x - self.mean) / self.std

    def forward(self, image, instruction_ids):
        llama = self.llama
        L, P = self.L, self.P
        t0 = L + P
        patches = self.projector(self.vision_backbone(self.pixel_values(image).to(llama.compute_dtype)))
        text = llama.embed_tokens(instruction_ids)
        seq = torch.cat([text, patches.to(text.dtype)], dim=1)                      # [B, L + P, D]
        pads = L - (instruction_ids != self.pad_id).to(torch.int64).sum(dim=1, keepdim=True)   # [B, 1]
        i = torch.arange(t0, dtype=torch.int64, device=instruction_ids.device).unsqueeze(0)   # [1, T0]
        # [pads, <s>, patches, text]: position i takes text[i] up to <s> (i <= pads), then patch
        # i - pads - 1, then text[i - P] (OpenVLA's cat([emb[:, :1], patches, emb[:, 1:]]) after the pads).
        src = torch.where(i <= pads, i, torch.where(i <= pads + P, i - pads - 1 + L, i - P))
        h = torch.gather(seq, 1, src.unsqueeze(-1).expand(-1, -1, seq.shape[-1]))
        real = i >= pads                                                             # [B, T0]
        q_pos, k_pos = i.view(t0, 1), i.view(1, t0)
        allowed = ((k_pos <= q_pos).unsqueeze(0) & real.unsqueeze(1)) | (k_pos == q_pos).unsqueeze(0)
        mask_add = (~allowed).unsqueeze(1).to(torch.float32) * NEG                  # [B, 1, T0, T0]
        cos, sin = llama.rope(i)
        pad_slot = (~real).unsqueeze(1).unsqueeze(-1)                                # [B, 1, T0, 1]
        presents = []
        for layer in llama.layers:
            h, k, v = llama.layer(layer, h, cos, sin, None, None, mask_add)
            # Pads' keys and values are zeros: the decode graph masks them by that (see the module doc).
            presents += [k.masked_fill(pad_slot, 0.0), v.masked_fill(pad_slot, 0.0)]
        return (llama.logits(h[:, -1:, :]), *presents)


class DecodeGraph(nn.Module):
    """token_ids [B,1], position_ids [B,1], past_key_values.* [B,H,T,hd], attention_mask [B,T+1]."""

    def __init__(self, llama):
        super().__init__()
        self.llama = llama

    def forward(self, token_ids, position_ids, *rest):
        llama = self.llama
        past, attention_mask = rest[:-1], rest[-1]
        h = llama.embed_tokens(token_ids)
        cos, sin = llama.rope(position_ids)
        # Prompt padding is cached as all-zero keys: mask it on top of the server's mask.
        cached = (past[0][:, 0].abs().sum(dim=-1) > 0).to(attention_mask.dtype)      # [B, T]
        keep = torch.cat([attention_mask[:, :-1] * cached, attention_mask[:, -1:]], dim=1)
        mask_add = ((1.0 - keep) * NEG).to(torch.float32)[:, None, None, :]          # [B, 1, 1, T + 1]
        presents = []
        for n, layer in enumerate(llama.layers):
            h, k, v = llama.layer(layer, h, cos, sin, past[2 * n], past[2 * n + 1], mask_add)
            presents += [k, v]
        return (llama.logits(h), *presents)


# ---------------------------------------------------------------------------------------------
# ONNX files: export, external data in one file per graph, I/O checks.
# ---------------------------------------------------------------------------------------------

def export_onnx(module, args, path, input_names, output_names, dynamic_axes, opset):
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)


def _tensors(model):
    from onnx import external_data_helper as edh
    getter = getattr(edh, "_get_all_tensors", None)
    return list(getter(model)) if getter else list(model.graph.initializer)


def finalize_graph(tmp_path, out_path, edit, min_external_bytes=1024):
    """Re-saves an exported graph with every large tensor in one `<graph>.data` next to it.

    torch.onnx.export writes graphs over 2 GB with one file per tensor; this streams them (and any
    large tensor still inside the protobuf) into a single 4 KiB-aligned file, without loading the
    weights, and applies `edit` to the (weightless) ModelProto before saving it.
    """
    import onnx
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(tmp_path, load_external_data=False)
    edit(model)
    src_dir = os.path.dirname(os.path.abspath(tmp_path))
    data_name = os.path.basename(out_path) + ".data"
    with open(os.path.join(os.path.dirname(os.path.abspath(out_path)), data_name), "wb") as data:
        for t in _tensors(model):
            if uses_external_data(t):
                info = {e.key: e.value for e in t.external_data}
                src = os.path.join(src_dir, info["location"])
                offset = int(info.get("offset", 0))
                length = int(info["length"]) if "length" in info else os.path.getsize(src) - offset
                pos = _align(data)
                with open(src, "rb") as f:
                    f.seek(offset)
                    left = length
                    while left:
                        chunk = f.read(min(left, 64 << 20))
                        if not chunk:
                            raise IOError(f"{src}: {left} bytes missing")
                        data.write(chunk)
                        left -= len(chunk)
            elif t.HasField("raw_data") and len(t.raw_data) >= min_external_bytes:
                pos = _align(data)
                length = len(t.raw_data)
                data.write(t.raw_data)
                t.ClearField("raw_data")
            else:
                continue
            del t.external_data[:]
            t.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(pos)), ("length", str(length))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
    onnx.save(model, out_path)
    onnx.checker.check_model(out_path)  # by path: external data checked, protobuf limit avoided


def _align(f, to=4096):
    pos = f.tell()
    if pos % to:
        f.write(b"\0" * (to - pos % to))
    return f.tell()


def set_dims(value_info, dims):
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d


def prefill_edit(t0, vocab, image_size, max_prompt_tokens, kv_heads, head_dim):
    def edit(model):
        from onnx import TensorProto, helper
        for vi in list(model.graph.input) + list(model.graph.output):
            if vi.name == "image":
                set_dims(vi, ["B", image_size, image_size, 3])
            elif vi.name == "instruction_ids":
                set_dims(vi, ["B", max_prompt_tokens])
            elif vi.name == "logits":
                set_dims(vi, ["B", vocab])
            elif vi.name.startswith("present."):
                set_dims(vi, ["B", kv_heads, t0, head_dim])  # the tracer leaves some of these symbolic
        # The server always feeds `proprio` (one value per proprio name: none here), and refuses a
        # prefill graph without it. OpenVLA reads no proprioception, so it is declared and unused.
        if all(i.name != "proprio" for i in model.graph.input):
            model.graph.input.append(helper.make_tensor_value_info("proprio", TensorProto.FLOAT, ["B", 0]))
        del model.graph.value_info[:]
    return edit


def decode_edit(vocab, kv_heads, head_dim):
    def edit(model):
        for vi in list(model.graph.input) + list(model.graph.output):
            if vi.name == "logits":
                set_dims(vi, ["B", vocab])
            elif vi.name.startswith("past_key_values."):
                set_dims(vi, ["B", kv_heads, "T", head_dim])
            elif vi.name.startswith("present."):
                set_dims(vi, ["B", kv_heads, "T_plus_1", head_dim])
        del model.graph.value_info[:]
    return edit


def check_onnx_io(path, expected):
    """expected: {name: (elem_type, [dim or None for dynamic])}, inputs and outputs together."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    seen = {}
    for vi in list(m.graph.input) + list(m.graph.output):
        t = vi.type.tensor_type
        seen[vi.name] = (t.elem_type, [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim])
    if set(seen) != set(expected):
        raise SystemExit(f"{path}: I/O names {sorted(seen)} != {sorted(expected)}")
    for name, (et, dims) in expected.items():
        got_et, got = seen[name]
        if got_et != et or len(got) != len(dims) or any(w is not None and g != w for g, w in zip(got, dims)):
            raise SystemExit(f"{path}: {name} is {seen[name]}, expected {(et, dims)}")


def expected_io(layers, kv_heads, head_dim, t0, vocab, image_size, max_prompt_tokens):
    import onnx
    F32, I64, U8 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.UINT8
    present_prompt = {present_name(n, k): (F32, [None, kv_heads, t0, head_dim]) for n in range(layers) for k in range(2)}
    past = {past_name(n, k): (F32, [None, kv_heads, None, head_dim]) for n in range(layers) for k in range(2)}
    present = {present_name(n, k): (F32, [None, kv_heads, None, head_dim]) for n in range(layers) for k in range(2)}
    prefill = {"image": (U8, [None, image_size, image_size, 3]), "instruction_ids": (I64, [None, max_prompt_tokens]),
               "proprio": (F32, [None, 0]), "logits": (F32, [None, vocab]), **present_prompt}
    decode = {"token_ids": (I64, [None, 1]), "position_ids": (I64, [None, 1]), **past,
              "attention_mask": (F32, [None, None]), "logits": (F32, [None, vocab]), **present}
    return prefill, decode


def export_package_graphs(prefill, decode, out, scratch, example, layers, kv_heads, head_dim, t0, vocab,
                          image_size, max_prompt_tokens, opset):
    """Exports both graphs into `out` through `scratch`; example = (image, ids, presents)."""
    image, ids, presents = example
    names = [present_name(n, k) for n in range(layers) for k in range(2)]
    pasts = [past_name(n, k) for n in range(layers) for k in range(2)]
    b = image.shape[0]
    for graph, module, args, inputs, outputs, axes, edit in (
        ("prefill.onnx", prefill, (image, ids), ["image", "instruction_ids"], ["logits"] + names,
         {"image": {0: "B"}, "instruction_ids": {0: "B"}, "logits": {0: "B"}, **{n: {0: "B"} for n in names}},
         prefill_edit(t0, vocab, image_size, max_prompt_tokens, kv_heads, head_dim)),
        ("decode.onnx", decode,
         (torch.ones((b, 1), dtype=torch.int64, device=ids.device),
          torch.full((b, 1), t0, dtype=torch.int64, device=ids.device), *presents,
          torch.ones(b, t0 + 1, dtype=torch.float32, device=ids.device)),
         ["token_ids", "position_ids"] + pasts + ["attention_mask"], ["logits"] + names,
         {"token_ids": {0: "B"}, "position_ids": {0: "B"}, "attention_mask": {0: "B", 1: "T_plus_1"},
          "logits": {0: "B"}, **{n: {0: "B", 2: "T"} for n in pasts}, **{n: {0: "B", 2: "T_plus_1"} for n in names}},
         decode_edit(vocab, kv_heads, head_dim)),
    ):
        work = os.path.join(scratch, graph.split(".")[0])
        os.makedirs(work, exist_ok=True)
        started = time.time()
        print(f"exporting {graph} (opset {opset}) ...", flush=True)
        export_onnx(module, args, os.path.join(work, graph), inputs, outputs, axes, opset)
        finalize_graph(os.path.join(work, graph), os.path.join(out, graph), edit)
        shutil.rmtree(work)
        print(f"  {graph}: {time.time() - started:.0f} s", flush=True)
    exp_prefill, exp_decode = expected_io(layers, kv_heads, head_dim, t0, vocab, image_size, max_prompt_tokens)
    check_onnx_io(os.path.join(out, "prefill.onnx"), exp_prefill)
    check_onnx_io(os.path.join(out, "decode.onnx"), exp_decode)
    print("onnx.checker: both graphs valid; I/O names, dtypes and shapes as docs/model-package.md says")


# ---------------------------------------------------------------------------------------------
# Prompts, statistics, profile.
# ---------------------------------------------------------------------------------------------

def prompt_text(template, instruction):
    """HuggingFacePrompt.promptText: the instruction stripped and lower-cased into the template."""
    return template.replace("{instruction}", instruction.strip().lower())


def with_suffix(ids, suffix_id):
    """predict_action's rule, and the server's suffix_tokens: append 29871 unless the prompt ends with it."""
    ids = list(ids)
    return ids if ids and ids[-1] == suffix_id else ids + [suffix_id]


def left_pad(ids, length, pad_id):
    if len(ids) > length:
        raise SystemExit(f"a prompt of {len(ids)} tokens does not fit --max-prompt-tokens {length}")
    return [pad_id] * (length - len(ids)) + list(ids)


def openvla_profile(name, action_stats, bins, vocab_size):
    """The tokenizer profile ActionStatistics.toOpenVlaProfile would make from these statistics."""
    q01, q99 = action_stats["q01"], action_stats["q99"]
    dims = len(q01)
    mask = action_stats.get("mask", [True] * dims)
    lo, hi = action_stats.get("min"), action_stats.get("max")
    names = EEF_NAMES if dims == len(EEF_NAMES) else [f"a{d}" for d in range(dims)]
    return {"name": name, "scheme": "openvla", "bins": int(bins), "vocab_size": int(vocab_size), "dimensions": [
        {"name": names[d], "low": float(q01[d]), "high": float(q99[d]), "normalized": bool(mask[d]),
         "constant": bool(lo is not None and hi is not None and lo[d] == hi[d])} for d in range(dims)]}


def decode_action(tokens, vocab_size, n_bins, action_stats):
    """OpenVLAForActionPrediction.predict_action's de-tokenization, for the printed reference actions."""
    bins = np.linspace(-1, 1, n_bins)
    centers = (bins[:-1] + bins[1:]) / 2.0
    idx = np.clip(vocab_size - np.asarray(tokens) - 1, 0, centers.shape[0] - 1)
    norm = centers[idx]
    mask = np.asarray(action_stats.get("mask", [True] * len(norm)), dtype=bool)
    hi, lo = np.asarray(action_stats["q99"]), np.asarray(action_stats["q01"])
    return np.where(mask, 0.5 * (norm + 1) * (hi - lo) + lo, norm)


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def floats(t):
    """A flat list of 7-significant-digit floats (the parity tolerance is far coarser)."""
    return [float(f"{v:.7g}") for v in t.detach().to(torch.float32).cpu().reshape(-1).tolist()]


# ---------------------------------------------------------------------------------------------
# The checkpoint.
# ---------------------------------------------------------------------------------------------

def checkpoint_file(checkpoint, name):
    """A file of the checkpoint (local folder or Hub id, from the Hub cache), or None."""
    if os.path.isdir(checkpoint):
        path = os.path.join(checkpoint, name)
        return path if os.path.isfile(path) else None
    try:
        from huggingface_hub import hf_hub_download
        return hf_hub_download(checkpoint, name)
    except Exception:  # EntryNotFoundError, offline without the file cached, ...
        return None


def load_statistics(args, vla):
    """--statistics, else the checkpoint's dataset_statistics.json (what fine-tunes ship and
    OpenVLA's eval code loads over norm_stats), else config.norm_stats."""
    for path, what in ((args.statistics, "--statistics"),
                       (checkpoint_file(args.checkpoint, "dataset_statistics.json"), "the checkpoint's dataset_statistics.json")):
        if path:
            with open(path) as f:
                return json.load(f), what
    if not getattr(vla, "norm_stats", None):
        raise SystemExit("the checkpoint has no norm_stats and no dataset_statistics.json: pass --statistics")
    return vla.norm_stats, "config.norm_stats"


def write_tokenizer(args, processor, out, probes):
    """Copies the checkpoint's tokenizer.json and proves the `tokenizers` library (what the server
    runs, through DJL) gives the processor's ids for every probe prompt; falls back to the
    processor's own serialisation if the file on disk differs from what the processor does."""
    from tokenizers import Tokenizer

    hf_tok = processor.tokenizer
    dest = os.path.join(out, "tokenizer.json")

    def mismatches():
        tok = Tokenizer.from_file(dest)
        bad = []
        for text in probes:
            want = hf_tok(text).input_ids
            got = tok.encode(text, add_special_tokens=True).ids
            if want != got:
                bad.append((text, want, got))
        return bad

    source = checkpoint_file(args.checkpoint, "tokenizer.json")
    if source:
        shutil.copyfile(source, dest)
        bad = mismatches()
        if not bad:
            return "checkpoint tokenizer.json"
        print(f"tokenizer.json from the checkpoint tokenizes {len(bad)} probe(s) unlike the processor "
              f"(first: {bad[0]}); writing the processor's own tokenizer instead")
    if not getattr(hf_tok, "is_fast", False):
        raise SystemExit("the processor's tokenizer is not a fast (tokenizers) tokenizer: cannot write tokenizer.json")
    hf_tok.backend_tokenizer.save(dest)
    bad = mismatches()
    if bad:
        raise SystemExit(f"tokenizer.json does not reproduce the processor's ids: {bad[:3]}")
    return "processor.tokenizer.backend_tokenizer"


def synthetic_images(size, count):
    """Deterministic frames when no --parity-image is given: a smooth scene and noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    scene = np.stack([60 + 120 * xx, 80 + 100 * yy, 140 - 60 * xx * yy], axis=-1)
    s = size // 7
    scene[2 * s:3 * s, 2 * s:4 * s] = (200, 30, 30)   # a red block
    scene[4 * s:6 * s, 4 * s:6 * s] = (220, 220, 220)  # a plate
    frames = [scene.clip(0, 255).astype(np.uint8), rng.integers(0, 256, (size, size, 3), dtype=np.uint8)]
    return [frames[i % len(frames)] for i in range(count)]


def load_images(paths, size, count):
    if not paths:
        return synthetic_images(size, count)
    from PIL import Image
    frames = []
    for p in paths:
        img = Image.open(p).convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.LANCZOS)  # as OpenVLA's data pipeline (lanczos3)
        frames.append(np.asarray(img, dtype=np.uint8))
    return [frames[i % len(frames)] for i in range(count)]


@torch.no_grad()
def hf_reference(vla, pixel_values, ids, lo, hi, dims):
    """OpenVLA itself, batch 1, unpadded, as predict_action runs it: the multimodal prefill, then
    cached greedy decoding (restricted to the action tokens, as the server's masking is). Returns
    the logits of the prefill and of every decode step (dims of them) and the dims tokens."""
    out = vla(input_ids=ids, pixel_values=pixel_values, use_cache=True, return_dict=True)
    logits = out.logits[:, -1, :].to(torch.float32)
    past = out.past_key_values
    all_logits, tokens = [logits[0].cpu()], []
    for step in range(dims):
        tok = int(torch.argmax(logits[0, lo:hi])) + lo
        tokens.append(tok)
        if step == dims - 1:
            break
        out = vla(input_ids=torch.tensor([[tok]], device=ids.device), past_key_values=past, use_cache=True,
                  return_dict=True)
        logits = out.logits[:, -1, :].to(torch.float32)
        past = out.past_key_values
        all_logits.append(logits[0].cpu())
    return all_logits, tokens


def max_diff(a, b):
    return float((a.to(torch.float32).cpu() - b.to(torch.float32).cpu()).abs().max())


@torch.no_grad()
def check_graph_modules(prefill, decode, rows, t0, tolerance, dtype):
    """The graphs (still PyTorch) against OpenVLA: a left-padded batch decoded in lockstep with
    the server's all-ones mask, a masked junk slot (the scheduler's right-aligned rows), and the
    zero-key convention. Returns the measured differences; exits if any exceeds `tolerance`."""
    image = torch.stack([r["image"] for r in rows])
    ids = torch.stack([r["ids"] for r in rows])
    b = len(rows)
    logits, *presents = prefill(image, ids)
    worst_prefill = max(max_diff(logits[i], rows[i]["ref_logits"][0]) for i in range(b))
    pads = (ids == prefill.pad_id).sum(dim=1)
    zero_keys = (presents[0][:, 0].abs().sum(dim=-1) == 0).sum(dim=1)
    if not torch.equal(pads.cpu(), zero_keys.cpu()):
        raise SystemExit(f"zero-key convention broken: pads {pads.tolist()}, all-zero cached keys {zero_keys.tolist()}")
    worst_decode = 0.0
    steps = len(rows[0]["tokens"]) - 1
    for k in range(steps):
        tok = torch.tensor([[r["tokens"][k]] for r in rows], device=ids.device)
        pos = torch.full((b, 1), t0 + k, dtype=torch.int64, device=ids.device)
        mask = torch.ones(b, t0 + k + 1, dtype=torch.float32, device=ids.device)
        logits, *presents = decode(tok, pos, *presents, mask)
        worst_decode = max(worst_decode, max(max_diff(logits[i], rows[i]["ref_logits"][k + 1]) for i in range(b)))
    # One junk position before row 0's prompt, masked 0 by the server: nothing may change.
    l0, *p0 = prefill(image[:1], ids[:1])
    tok = torch.tensor([[rows[0]["tokens"][0]]], device=ids.device)
    pos = torch.full((1, 1), t0, dtype=torch.int64, device=ids.device)
    plain, *_ = decode(tok, pos, *p0, torch.ones(1, t0 + 1, device=ids.device))
    gen = torch.Generator().manual_seed(0)
    junk = [torch.cat([torch.randn(p.shape[0], p.shape[1], 1, p.shape[3], generator=gen).to(p.device) * 3, p], dim=2)
            for p in p0]
    mask = torch.ones(1, t0 + 2, device=ids.device)
    mask[0, 0] = 0
    masked, *_ = decode(tok, pos, *junk, mask)
    worst_junk = max_diff(plain, masked)
    print(f"graphs vs OpenVLA: prefill {worst_prefill:.2e}, decode {worst_decode:.2e}, "
          f"masked junk slot {worst_junk:.2e} (tolerance {tolerance:g}, {dtype})")
    if max(worst_prefill, worst_decode, worst_junk) > tolerance:
        raise SystemExit("the graphs do not compute what OpenVLA does: not exporting")
    return {"prefill_max_abs_diff": worst_prefill, "decode_max_abs_diff": worst_decode,
            "masked_slot_max_abs_diff": worst_junk}


def make_parity_cases(rows, image_size, t0, dims):
    """parity.json's cases: a batch of two prompts of different lengths decoding in lockstep, and
    one alone, with exactly what the server sends (left-padded ids, no proprio, all-ones decode
    masks) and OpenVLA's own logits. Extra keys (instructions, reference_actions) are for people."""
    cases = []
    for group in (rows[:2], rows[2:]):
        b = len(group)
        case = {"image": torch.stack([r["image"] for r in group]).reshape(-1).cpu().tolist(),
                "image_shape": [b, image_size, image_size, 3],
                "instruction_ids": torch.stack([r["ids"] for r in group]).reshape(-1).cpu().tolist(),
                "proprio": [],
                "prefill_logits": [v for r in group for v in floats(r["ref_logits"][0])],
                "decode_steps": [],
                "instructions": [r["instruction"] for r in group],
                "reference_actions": [jsonable(r["action"]) for r in group]}
        for k in range(dims - 1):
            case["decode_steps"].append({
                "token_ids": [r["tokens"][k] for r in group], "position_ids": [t0 + k] * b,
                "attention_mask": [1.0] * (b * (t0 + k + 1)),
                "logits": [v for r in group for v in floats(r["ref_logits"][k + 1])]})
        cases.append(case)
    return cases


def build_manifest(*, name, version, camera, image_size, prompt, max_prompt_tokens, pad_token, profile,
                   step_period, unnorm_key, logits_width, architecture, skills, training, metrics, tolerance):
    """model.json (docs/model-package.md): OpenVLA's text conventions, one 7-D action per call."""
    return {
        "format": FORMAT,
        "name": name,
        "version": version,
        "graphs": {"prefill": "prefill.onnx", "decode": "decode.onnx"},
        "image": {"camera": camera, "height": image_size, "width": image_size},
        "text": {
            "tokenizer": "tokenizer.json",
            "prompt": prompt,
            "lowercase_instruction": True,  # OpenVLA's eval scripts lower-case the task
            "add_special_tokens": True,     # <s> first, from the tokenizer's post-processor
            "suffix_tokens": [SUFFIX_TOKEN],
            "max_prompt_tokens": max_prompt_tokens,
            "pad_token": pad_token,
            "padding": "left",              # the last slot is always the last prompt token
        },
        "proprio_names": [],
        "action": {"profile": profile, "chunk_length": 1, "step_period_s": step_period, "unnorm_key": unnorm_key,
                   "statistics": "dataset_statistics.json"},
        "vocab_size": logits_width,
        "architecture": {
            **architecture,
            "sequence": "[<PAD> x pads, <s>, image patches, prompt tokens after <s>]: left padding, positions 0..T0-1",
            "attention": "causal; prompt pads masked in prefill and cached as all-zero keys/values, which decode "
                         "masks in addition to attention_mask",
            "positions": "rotary (relative): a left-padded row attends exactly as the unpadded prompt",
            "weights": ["prefill.onnx.data", "decode.onnx.data"],
        },
        "skills": skills,
        "training": training,
        "metrics": metrics,
        "parity": {"file": "parity.json", "tolerance": tolerance},
    }


def ort_parity(out, cases, tolerance, cuda):
    """parity.json's cases through ONNX Runtime (Python), as `vla model check` will run them."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: ONNX Runtime parity left to `vla model check`")
        return None
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
    prefill = ort.InferenceSession(os.path.join(out, "prefill.onnx"), providers=providers)
    decode = ort.InferenceSession(os.path.join(out, "decode.onnx"), providers=providers)
    present = [o.name for o in prefill.get_outputs() if o.name.startswith("present.")]
    worst = 0.0
    for c in cases:
        shape = c["image_shape"]
        b = shape[0]
        feeds = {"image": np.asarray(c["image"], dtype=np.uint8).reshape(shape),
                 "instruction_ids": np.asarray(c["instruction_ids"], dtype=np.int64).reshape(b, -1),
                 "proprio": np.zeros((b, 0), dtype=np.float32)}
        res = prefill.run(None, feeds)
        names = [o.name for o in prefill.get_outputs()]
        got = dict(zip(names, res))
        worst = max(worst, float(np.abs(got["logits"].reshape(-1) - np.asarray(c["prefill_logits"])).max()))
        cache = {n.replace("present.", "past_key_values."): got[n] for n in present}
        for step in c["decode_steps"]:
            t = next(iter(cache.values())).shape[2]
            feeds = {"token_ids": np.asarray(step["token_ids"], dtype=np.int64).reshape(b, 1),
                     "position_ids": np.asarray(step["position_ids"], dtype=np.int64).reshape(b, 1),
                     "attention_mask": np.asarray(step["attention_mask"], dtype=np.float32).reshape(b, t + 1), **cache}
            res = dict(zip([o.name for o in decode.get_outputs()], decode.run(None, feeds)))
            worst = max(worst, float(np.abs(res["logits"].reshape(-1) - np.asarray(step["logits"])).max()))
            cache = {n.replace("present.", "past_key_values."): res[n] for n in present}
    print(f"ONNX Runtime ({providers[0]}) vs OpenVLA: largest logit difference {worst:.3g} (tolerance {tolerance:g})")
    if worst > tolerance:
        raise SystemExit(f"ONNX Runtime parity {worst:.3g} exceeds --parity-tolerance {tolerance:g}: the package "
                         "would fail `vla model check` (model.json not written)")
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="Hub id (openvla/openvla-7b) or a local checkpoint folder")
    ap.add_argument("--unnorm-key", default=None, help="dataset statistics key (bridge_orig, fractal20220817_data, "
                    "libero_spatial, ...); optional when the statistics hold one key")
    ap.add_argument("--out", required=True, help="the package folder to write")
    ap.add_argument("--max-prompt-tokens", type=int, default=48, help="L, prompt slots incl. <s> and the suffix (default 48)")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                    help="weights and compute; graph inputs, logits and the KV cache stay float32 (the format's)")
    ap.add_argument("--device", default=None, help="cpu or cuda[:N] (default: cuda if available); float16 needs cuda")
    ap.add_argument("--name", default=None, help="model name (default: the checkpoint's folder/repo name)")
    ap.add_argument("--version", default="1")
    ap.add_argument("--camera", default="third_person")
    ap.add_argument("--step-period", type=float, default=None, help="seconds between actions (the dataset's control period)")
    ap.add_argument("--skill", action="append", default=[], help="an instruction the model was trained on (repeat)")
    ap.add_argument("--prompt", default=PROMPT, help="prompt template (OpenVLA v0.1 used a Vicuna chat template)")
    ap.add_argument("--statistics", default=None, help="dataset_statistics.json to use instead of the checkpoint's")
    ap.add_argument("--parity-image", action="append", default=[], help="a camera frame for the parity cases (repeat)")
    ap.add_argument("--parity-tolerance", type=float, default=None,
                    help="largest logit difference allowed (default 1e-2 float32, 0.5 float16)")
    ap.add_argument("--skip-ort-check", action="store_true", help="do not run the parity cases through onnxruntime here")
    args = ap.parse_args(argv)

    from transformers import AutoModelForVision2Seq, AutoProcessor

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = {"float32": torch.float32, "float16": torch.float16}[args.dtype]
    if dtype == torch.float16 and device.type != "cuda":
        raise SystemExit("--dtype float16 traces and runs the reference on a GPU: give --device cuda")
    tolerance = args.parity_tolerance or (1e-2 if dtype == torch.float32 else 0.5)
    torch.backends.cuda.matmul.allow_tf32 = False  # the reference must be plain float32 on Ampere+
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for stale in ("model.json", "parity.json"):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))
    started = time.time()

    print(f"loading {args.checkpoint} ({args.dtype}, {device}) ...", flush=True)
    processor = AutoProcessor.from_pretrained(args.checkpoint, trust_remote_code=True)
    vla = AutoModelForVision2Seq.from_pretrained(args.checkpoint, torch_dtype=dtype, low_cpu_mem_usage=True,
                                                 trust_remote_code=True, attn_implementation="eager")
    vla = vla.to(device).eval()
    for p in vla.parameters():
        p.requires_grad_(False)
    for m in vla.vision_backbone.modules():  # timm: explicit softmax attention instead of SDPA (same maths)
        if hasattr(m, "fused_attn"):
            m.fused_attn = False
    cfg = vla.config
    text_cfg = cfg.text_config

    # --- statistics and the action profile ------------------------------------------------------
    stats, stats_source = load_statistics(args, vla)
    key = args.unnorm_key
    if key is None:
        if len(stats) != 1:
            raise SystemExit(f"the statistics hold {len(stats)} datasets: choose --unnorm-key from {sorted(stats)}")
        key = next(iter(stats))
    if key not in stats:
        raise SystemExit(f"--unnorm-key {key} not in {sorted(stats)}")
    action_stats = stats[key]["action"]
    dims = len(action_stats["q01"])
    step_period = args.step_period or STEP_PERIODS.get(key.removesuffix("_no_noops"))
    if not step_period:
        raise SystemExit(f"no known control period for {key}: give --step-period (seconds between actions)")
    text_vocab = int(vla.vocab_size)                # 32000: Llama's vocabulary, where the action tokens end
    logits_width = int(text_cfg.vocab_size)         # 32064: padded to a multiple of 64
    n_bins = int(getattr(cfg, "n_action_bins", 256))
    lo, hi = text_vocab - n_bins, text_vocab        # action token ids [31744, 32000)
    profile = openvla_profile(f"openvla/{key}", action_stats, n_bins, text_vocab)

    # --- text -----------------------------------------------------------------------------------
    hf_tok = processor.tokenizer
    pad_token, pad_id = hf_tok.pad_token, hf_tok.pad_token_id
    if pad_id != cfg.pad_token_id or pad_id is None:
        raise SystemExit(f"tokenizer pad {pad_token!r}={pad_id} != config.pad_token_id {cfg.pad_token_id}")
    if hf_tok.vocab_size != text_vocab:
        raise SystemExit(f"the tokenizer has {hf_tok.vocab_size} base tokens, the model's action tokens end at "
                         f"{text_vocab - 1}: they must be the tokenizer's last ids")
    if hf_tok.convert_tokens_to_ids(SUFFIX_TOKEN) != SUFFIX_ID:
        raise SystemExit(f"{SUFFIX_TOKEN!r} is not id {SUFFIX_ID} in this tokenizer (not a Llama-2 OpenVLA?)")
    skills = args.skill or PLACEHOLDER_SKILLS
    if not args.skill:
        print(f"no --skill given: listing placeholder skills {PLACEHOLDER_SKILLS}; planners read these as the "
              "instructions the model knows, so re-export with your task instructions")
    parity_instructions = [skills[0], max(skills, key=len), skills[-1]]
    probes = [prompt_text(args.prompt, s) for s in skills + parity_instructions +
              ["put the eggplant in the pot", "Pick up the COKE can!", "move the spoon 2 cm to the left of the towel"]]
    tokenizer_source = write_tokenizer(args, processor, out, probes)

    def encode(instruction):
        return with_suffix(hf_tok(prompt_text(args.prompt, instruction)).input_ids, SUFFIX_ID)

    L = args.max_prompt_tokens
    longest = max(len(encode(s)) for s in skills + parity_instructions)
    if longest > L:
        raise SystemExit(f"a prompt needs {longest} tokens: raise --max-prompt-tokens (now {L})")

    # --- image ----------------------------------------------------------------------------------
    ip = processor.image_processor
    sizes = {tuple(s) for s in ip.input_sizes}
    if len(sizes) != 1 or list(sizes)[0][1] != list(sizes)[0][2]:
        raise SystemExit(f"input sizes {ip.input_sizes}: expected one square size for every vision tower")
    S = list(sizes)[0][1]
    means = [p["mean"] for p in ip.tvf_normalize_params]
    stds = [p["std"] for p in ip.tvf_normalize_params]
    if ip.image_resize_strategy != "resize-naive":
        print(f"note: image_resize_strategy {ip.image_resize_strategy!r}: the server stretches frames to {S}x{S}; "
              "send square frames (docs/openvla-export.md)")

    # --- the graph modules ----------------------------------------------------------------------
    llama = LlamaStack(vla.language_model, dtype)
    with torch.no_grad():
        probe = vla.projector(vla.vision_backbone(torch.zeros(1, 3 * len(means), S, S, dtype=dtype, device=device)))
    P = int(probe.shape[1])
    t0 = L + P
    prefill = PrefillGraph(vla.vision_backbone, vla.projector, llama, means, stds, pad_id, L, P).eval()
    decode = DecodeGraph(llama).eval()

    # --- OpenVLA's own outputs on the parity inputs ---------------------------------------------
    from PIL import Image
    frames = load_images(args.parity_image, S, len(parity_instructions))
    rows, worst_pixels = [], 0.0
    for frame, instruction in zip(frames, parity_instructions):
        ref_pixels = ip(Image.fromarray(frame), return_tensors="pt")["pixel_values"].to(device)
        image = torch.from_numpy(frame.copy()).to(device)
        worst_pixels = max(worst_pixels, max_diff(prefill.pixel_values(image[None]), ref_pixels))
        ids = encode(instruction)
        ref_logits, tokens = hf_reference(vla, ref_pixels.to(dtype), torch.tensor([ids], device=device), lo, hi, dims)
        rows.append({"image": image, "instruction": instruction, "prompt_tokens": len(ids),
                     "ids": torch.tensor(left_pad(ids, L, pad_id), device=device),
                     "ref_logits": ref_logits, "tokens": tokens,
                     "action": decode_action(tokens, text_vocab, n_bins, action_stats)})
        print(f"OpenVLA on {instruction!r} ({len(ids)} prompt tokens): tokens {tokens}, "
              f"action {np.round(rows[-1]['action'], 4).tolist()}", flush=True)
    print(f"image preprocessing in the graph vs PrismaticImageProcessor: {worst_pixels:.2e}")
    if worst_pixels > 1e-5:
        raise SystemExit("the graph's image preprocessing differs from the checkpoint's processor")
    checks = check_graph_modules(prefill, decode, rows, t0, tolerance, args.dtype)
    checks["image_preprocessing_max_abs_diff"] = worst_pixels

    cases = make_parity_cases(rows, S, t0, dims)

    # --- export ---------------------------------------------------------------------------------
    scratch = os.path.join(out, ".export-scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    with torch.no_grad():
        ex_image = torch.stack([r["image"] for r in rows[:2]])
        ex_ids = torch.stack([r["ids"] for r in rows[:2]])
        _, *ex_presents = prefill(ex_image, ex_ids)
    export_package_graphs(prefill, decode, out, scratch, (ex_image, ex_ids, ex_presents), len(llama.layers),
                          llama.kv_heads, llama.head_dim, t0, logits_width, S, L, args.opset)
    shutil.rmtree(scratch, ignore_errors=True)

    parameters = sum(p.numel() for p in vla.parameters())
    commit = getattr(cfg, "_commit_hash", None)
    max_positions = int(getattr(text_cfg, "max_position_embeddings", 2048))
    layers, heads, kv_heads, head_dim, hidden = (len(llama.layers), llama.heads, llama.kv_heads, llama.head_dim,
                                                 llama.hidden)
    versions = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}
    for lib in ("transformers", "tokenizers", "timm", "onnx", "onnxruntime"):
        try:
            versions[lib] = __import__(lib).__version__
        except ImportError:
            pass
    del prefill, decode, llama, vla, ex_presents, rows
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    ort_worst = None if args.skip_ort_check else ort_parity(out, cases, tolerance, device.type == "cuda")

    # --- the rest of the package ----------------------------------------------------------------
    with open(os.path.join(out, "dataset_statistics.json"), "w") as f:
        json.dump(jsonable({key: stats[key]}), f, indent=2)
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))
    architecture = {
        "layers": layers, "heads": kv_heads, "head_dim": head_dim, "d_model": hidden,
        "attention_heads": heads, "prompt_length": t0, "max_positions": max_positions,
        "image_tokens": P, "instruction_tokens": L, "proprio_tokens": 0,
        "image_encoder": f"{' + '.join(cfg.timm_model_ids)} (second-to-last layer patches, channel-stacked "
                         f"input), {len(means)}-tower fused, MLP projector to d_model; preprocessing in the graph: "
                         f"x/255, per-tower mean {means} std {stds}",
        "image_resize_strategy": ip.image_resize_strategy,
        "language_model": f"{cfg.llm_backbone_id} (Llama), RMSNorm, SwiGLU, rotary theta "
                          f"{getattr(text_cfg, 'rope_theta', 10000.0)}",
        "parameters": parameters, "dtype": args.dtype, "opset": args.opset,
    }
    training = {
        "source": "OpenVLA (openvla/openvla); exported, not trained, here",
        "checkpoint": args.checkpoint, "checkpoint_commit": commit, "statistics": stats_source,
        "tokenizer": tokenizer_source,
        "export_command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "export_seconds": round(time.time() - started, 1),
        "machine": f"{platform.machine()} {platform.system()}, {device}",
        "libraries": versions,
    }
    manifest = build_manifest(
        name=args.name or os.path.basename(os.path.normpath(args.checkpoint)), version=args.version,
        camera=args.camera, image_size=S, prompt=args.prompt, max_prompt_tokens=L, pad_token=pad_token,
        profile=profile, step_period=step_period, unnorm_key=key, logits_width=logits_width,
        architecture=architecture, skills=skills, training=training,
        metrics={"export_checks": {**checks, "onnxruntime_parity_max_abs_diff": ort_worst}}, tolerance=tolerance)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(jsonable(manifest), f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out} in {time.time() - started:.0f} s:")
    for file in sorted(os.listdir(out)):
        print(f"  {file:26s} {os.path.getsize(os.path.join(out, file)) / 1e6:10.1f} MB")
    print(f"next: ./vla model check {out}")


if __name__ == "__main__":
    main()
