"""Export a trained checkpoint as the `vla-serve-model/2` package (docs/model-package.md).

    python3 export.py --checkpoint target/tiny-vla-train/checkpoint.pt --data target/dataset \
        --out models/tiny-vla [--dataset-command "..."] [--wall-seconds N]

Writes prefill.onnx, decode.onnx, model.json, dataset_statistics.json and parity.json, after
checking that
  * prefill + step-by-step decode reproduces the teacher-forced full-sequence logits (KV cache),
  * a batch of two decodes like two batches of one (batch independence, attention_mask plumbing),
  * both graphs pass onnx.checker and have exactly the documented I/O names, dtypes and ranks.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset as dsmod  # noqa: E402
import kv_io  # noqa: E402
from model import Config, DecodeGraph, ParallelGraph, PrefillGraph, TinyVLA, count_parameters  # noqa: E402

OPSET = 17  # native LayerNormalization; torch 1.13 cannot export 18
MACHINE = "2-core shared x86_64, no GPU"


def load_model(path):
    ckpt = torch.load(path, map_location="cpu")
    cfg = Config(**ckpt["config"])
    model = TinyVLA(cfg)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


def held_out_inputs(ds, model, rows):
    cfg = model.cfg
    table = dsmod.instruction_table(ds.meta, cfg.instruction_len)
    r = np.asarray(rows)
    image = torch.from_numpy(ds.images[r].copy())
    instr = torch.from_numpy(table[ds.instruction_ids[r]])
    proprio = torch.from_numpy(ds.proprio[r].astype(np.float32))
    return image, instr, proprio


@torch.no_grad()
def check_kv_cache(model, image, instr, proprio, tokens):
    """Max |full teacher-forced logits - prefill/decode logits| over every action position."""
    cfg = model.cfg
    full = model(image, instr, proprio, tokens[:, :-1])                  # [B, A, V]
    logits, kv = model.prefill(image, instr, proprio)
    worst = float((full[:, 0] - logits).abs().max())
    b = image.shape[0]
    for k in range(cfg.action_len - 1):
        pos = torch.full((b, 1), cfg.prompt_len + k, dtype=torch.long)
        logits, kv = model.decode(tokens[:, k:k + 1], pos, kv, torch.ones(b, kv.shape[4] + 1))
        worst = max(worst, float((full[:, k + 1] - logits).abs().max()))
    return worst


@torch.no_grad()
def check_batch_independence(model, image, instr, proprio, tokens, steps=3):
    """Decoding two sequences together must give what each gives alone; a masked-out extra
    cache slot (attention_mask 0) must not change anything either."""
    cfg = model.cfg
    lb, kvb = model.prefill(image, instr, proprio)
    worst = 0.0
    singles = [model.prefill(image[i:i + 1], instr[i:i + 1], proprio[i:i + 1]) for i in range(2)]
    for i in range(2):
        worst = max(worst, float((singles[i][0] - lb[i:i + 1]).abs().max()))
    # Garbage slot appended to the cache of sequence 0 only, masked out.
    for k in range(steps):
        pos = torch.full((2, 1), cfg.prompt_len + k, dtype=torch.long)
        lb, kvb = model.decode(tokens[:, k:k + 1], pos, kvb, torch.ones(2, kvb.shape[4] + 1))
        for i in range(2):
            l1, kv1 = singles[i]
            l1, kv1 = model.decode(tokens[i:i + 1, k:k + 1], pos[i:i + 1], kv1, torch.ones(1, kv1.shape[4] + 1))
            singles[i] = (l1, kv1)
            worst = max(worst, float((l1 - lb[i:i + 1]).abs().max()))
    l0, kv0 = model.prefill(image[:1], instr[:1], proprio[:1])
    junk = torch.randn(kv0.shape[0], 2, 1, kv0.shape[3], 1, kv0.shape[5]) * 3
    padded = torch.cat([kv0, junk], dim=4)
    mask = torch.ones(1, padded.shape[4] + 1)
    mask[0, kv0.shape[4]] = 0.0
    pos = torch.full((1, 1), cfg.prompt_len, dtype=torch.long)
    la, _ = model.decode(tokens[:1, :1], pos, kv0, torch.ones(1, kv0.shape[4] + 1))
    lm, _ = model.decode(tokens[:1, :1], pos, padded, mask)
    worst = max(worst, float((la - lm).abs().max()))
    return worst


def export_graphs(model, out, image, instr, proprio):
    cfg = model.cfg
    prefill_path = os.path.join(out, "prefill.onnx")
    decode_path = os.path.join(out, "decode.onnx")
    with torch.no_grad():
        _, kv = model.prefill(image, instr, proprio)
    torch.onnx.export(
        PrefillGraph(model), (image, instr, proprio), prefill_path, opset_version=OPSET,
        input_names=["image", "instruction_ids", "proprio"], output_names=["logits", "present_kv"],
        dynamic_axes={"image": {0: "B"}, "instruction_ids": {0: "B"}, "proprio": {0: "B"},
                      "logits": {0: "B"}, "present_kv": {2: "B"}},
        do_constant_folding=True)
    # The tracer leaves the prompt length symbolic (it comes out of the conv stem's flatten);
    # it is a constant of the model, so declare it on the output.
    m = onnx.load(prefill_path)
    for o in m.graph.output:
        if o.name == "present_kv":
            d = o.type.tensor_type.shape.dim[4]
            d.ClearField("dim_param")
            d.dim_value = cfg.prompt_len
    onnx.save(m, prefill_path)
    b = image.shape[0]
    tok = torch.full((b, 1), cfg.vocab_size - 1, dtype=torch.long)
    pos = torch.full((b, 1), cfg.prompt_len, dtype=torch.long)
    mask = torch.ones(b, kv.shape[4] + 1)
    torch.onnx.export(
        DecodeGraph(model), (tok, pos, kv, mask), decode_path, opset_version=OPSET,
        input_names=["token_ids", "position_ids", "past_kv", "attention_mask"],
        output_names=["logits", "present_kv"],
        dynamic_axes={"token_ids": {0: "B"}, "position_ids": {0: "B"}, "past_kv": {2: "B", 4: "T"},
                      "attention_mask": {0: "B", 1: "T_plus_1"}, "logits": {0: "B"},
                      "present_kv": {2: "B", 4: "T_plus_1"}},
        do_constant_folding=True)
    # The tracer writes the model's one packed cache tensor; servers read one tensor per layer.
    for path in (prefill_path, decode_path):
        kv_io.convert_file(path)
    return prefill_path, decode_path


def export_parallel_graph(model, out, image, instr, proprio):
    """A parallel-decoding model's one graph: the prompt in, logits [B, A, V] of every action token out."""
    path = os.path.join(out, "prefill.onnx")
    torch.onnx.export(
        ParallelGraph(model), (image, instr, proprio), path, opset_version=OPSET,
        input_names=["image", "instruction_ids", "proprio"], output_names=["logits"],
        dynamic_axes={"image": {0: "B"}, "instruction_ids": {0: "B"}, "proprio": {0: "B"}, "logits": {0: "B"}},
        do_constant_folding=True)
    # As for the prefill's cache: the tracer leaves the number of action tokens symbolic; it is a constant.
    m = onnx.load(path)
    d = m.graph.output[0].type.tensor_type.shape.dim[1]
    d.ClearField("dim_param")
    d.dim_value = model.cfg.action_len
    onnx.save(m, path)
    return path


@torch.no_grad()
def check_parallel_batching(model, image, instr, proprio):
    """Max |batched - one at a time| over every action token's logits."""
    batched = model.predict_all(image, instr, proprio)
    return max(float((model.predict_all(image[i:i + 1], instr[i:i + 1], proprio[i:i + 1])[0] - batched[i]).abs().max())
               for i in range(image.shape[0]))


def check_onnx_io(path, expected):
    """expected: {name: (elem_type, [dim or None for dynamic])} for inputs and outputs together."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    seen = {}
    for vi in list(m.graph.input) + list(m.graph.output):
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        seen[vi.name] = (t.elem_type, dims)
    if set(seen) != set(expected):
        raise AssertionError(f"{path}: I/O names {sorted(seen)} != {sorted(expected)}")
    for name, (et, dims) in expected.items():
        if seen[name][0] != et or len(seen[name][1]) != len(dims):
            raise AssertionError(f"{path}: {name} is {seen[name]}, expected {(et, dims)}")
        for got, want in zip(seen[name][1], dims):
            if want is not None and got != want:
                raise AssertionError(f"{path}: {name} dims {seen[name][1]}, expected {dims}")
            if want is None and got is not None:
                raise AssertionError(f"{path}: {name} dims {seen[name][1]} should be dynamic where {dims} has None")
    return m


@torch.no_grad()
def parity_case(model, image, instr, proprio, first_action_id, steps=3):
    """One case: inputs, prefill logits and `steps` greedy decode steps, as flat row-major lists."""
    cfg = model.cfg
    b = image.shape[0]
    logits, kv = model.prefill(image, instr, proprio)
    case = {
        "image": image.reshape(-1).tolist(), "image_shape": list(image.shape),
        "instruction_ids": instr.reshape(-1).tolist(), "proprio": proprio.reshape(-1).tolist(),
        "prefill_logits": logits.reshape(-1).tolist(), "decode_steps": [],
    }
    for k in range(steps):
        tok = (logits[:, first_action_id:].argmax(-1) + first_action_id).view(b, 1)
        pos = torch.full((b, 1), cfg.prompt_len + k, dtype=torch.long)
        mask = torch.ones(b, kv.shape[4] + 1)
        logits, kv = model.decode(tok, pos, kv, mask)
        case["decode_steps"].append({
            "token_ids": tok.reshape(-1).tolist(), "position_ids": pos.reshape(-1).tolist(),
            "attention_mask": mask.reshape(-1).tolist(), "logits": logits.reshape(-1).tolist()})
    return case


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dataset-command", default=None, help="defaults to meta.json's command")
    ap.add_argument("--wall-seconds", type=float, default=None, help="whole pipeline wall time, for model.json")
    ap.add_argument("--dataset-seconds", type=float, default=None)
    ap.add_argument("--version", default="1")
    ap.add_argument("--name", default="tiny-vla", help="the package's model name")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(0)

    model, ckpt = load_model(args.checkpoint)
    cfg = model.cfg
    ds = dsmod.load(args.data)
    prof = ds.meta["tokenizer_profile"]
    first_action_id = prof["vocab_size"] - prof["bins"]
    os.makedirs(args.out, exist_ok=True)

    # Held-out rows for the checks and the parity cases: the first rows of held-out episodes,
    # from different subgoal segments so the cases cover different skills.
    val_eps = ckpt["training"]["held_out_episodes"]
    val_rows = np.flatnonzero(np.isin(ds.episode_ids, val_eps))
    rng = np.random.default_rng(1)
    pick = np.sort(rng.choice(val_rows, size=min(8, len(val_rows)), replace=False))
    targets, _ = dsmod.chunk_targets(ds, cfg.chunk)
    image, instr, proprio = held_out_inputs(ds, model, pick)
    tokens = torch.from_numpy(targets[pick].reshape(len(pick), -1))

    if cfg.parallel:
        return export_parallel(args, model, ckpt, ds, prof, image, instr, proprio)
    kv_err = check_kv_cache(model, image, instr, proprio, tokens)
    print(f"KV cache: max |full - incremental| logits = {kv_err:.2e}")
    if kv_err > 1e-4:
        raise SystemExit("KV cache check failed")
    bi_err = check_batch_independence(model, image[:2], instr[:2], proprio[:2], tokens[:2])
    print(f"batching/mask: max |batched - single| logits = {bi_err:.2e}")
    if bi_err > 1e-4:
        raise SystemExit("batch independence check failed")

    prefill_path, decode_path = export_graphs(model, args.out, image[:2], instr[:2], proprio[:2])
    n, h, hd, t0, v = cfg.layers, cfg.heads, cfg.head_dim, cfg.prompt_len, cfg.vocab_size
    s = cfg.image_size
    F32, I64, U8 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.UINT8
    present_prompt = {kv_io.present_name(l, k): (F32, [None, h, t0, hd]) for l in range(n) for k in range(2)}
    past = {kv_io.past_name(l, k): (F32, [None, h, None, hd]) for l in range(n) for k in range(2)}
    present = {kv_io.present_name(l, k): (F32, [None, h, None, hd]) for l in range(n) for k in range(2)}
    check_onnx_io(prefill_path, {
        "image": (U8, [None, s, s, 3]), "instruction_ids": (I64, [None, cfg.instruction_len]),
        "proprio": (F32, [None, cfg.proprio_dim]),
        "logits": (F32, [None, v]), **present_prompt})
    check_onnx_io(decode_path, {
        "token_ids": (I64, [None, 1]), "position_ids": (I64, [None, 1]),
        **past, "attention_mask": (F32, [None, None]),
        "logits": (F32, [None, v]), **present})
    print("onnx.checker: both graphs valid; I/O names, dtypes and shapes as documented")

    # The exported modules are exactly what was traced; run them once more at another batch size.
    with torch.no_grad():
        lp, kvp = PrefillGraph(model)(image[:3], instr[:3], proprio[:3])
        ld, kvd = DecodeGraph(model)(tokens[:3, :1], torch.full((3, 1), t0, dtype=torch.long), kvp, torch.ones(3, t0 + 1))
    assert lp.shape == (3, v) and kvp.shape == (n, 2, 3, h, t0, hd)
    assert ld.shape == (3, v) and kvd.shape == (n, 2, 3, h, t0 + 1, hd)

    # parity.json: one batch of two held-out sequences decoding together, and one single one.
    cases = [parity_case(model, image[:2], instr[:2], proprio[:2], first_action_id),
             parity_case(model, image[2:3], instr[2:3], proprio[2:3], first_action_id)]
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))

    shutil.copyfile(os.path.join(args.data.split(",")[0], "dataset_statistics.json"),
                    os.path.join(args.out, "dataset_statistics.json"))

    model_json = manifest(args, model, ckpt, ds, prof)
    model_json["metrics"]["kv_cache_max_abs_diff"] = kv_err
    write_manifest(args.out, model_json, ("prefill.onnx", "decode.onnx"))


def export_parallel(args, model, ckpt, ds, prof, image, instr, proprio):
    """A parallel-decoding package (format /3, "decoding": "parallel"): one graph, no KV cache."""
    cfg = model.cfg
    err = check_parallel_batching(model, image[:3], instr[:3], proprio[:3])
    print(f"batching: max |batched - single| logits = {err:.2e}")
    if err > 1e-4:
        raise SystemExit("batch independence check failed")
    path = export_parallel_graph(model, args.out, image[:2], instr[:2], proprio[:2])
    s, v, a = cfg.image_size, cfg.vocab_size, cfg.action_len
    F32, I64, U8 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.UINT8
    check_onnx_io(path, {
        "image": (U8, [None, s, s, 3]), "instruction_ids": (I64, [None, cfg.instruction_len]),
        "proprio": (F32, [None, cfg.proprio_dim]), "logits": (F32, [None, a, v])})
    print("onnx.checker: the graph is valid; I/O names, dtypes and shapes as documented")
    with torch.no_grad():
        cases = []
        for rows in (slice(0, 2), slice(2, 3)):
            logits = model.predict_all(image[rows], instr[rows], proprio[rows])
            cases.append({"image": image[rows].reshape(-1).tolist(), "image_shape": list(image[rows].shape),
                          "instruction_ids": instr[rows].reshape(-1).tolist(),
                          "proprio": proprio[rows].reshape(-1).tolist(),
                          "prefill_logits": logits.reshape(-1).tolist(), "decode_steps": []})
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))
    shutil.copyfile(os.path.join(args.data.split(",")[0], "dataset_statistics.json"),
                    os.path.join(args.out, "dataset_statistics.json"))
    model_json = manifest(args, model, ckpt, ds, prof)
    model_json["format"] = "vla-serve-model/3"
    model_json["decoding"] = "parallel"
    model_json["graphs"] = {"prefill": "prefill.onnx"}
    model_json["architecture"]["attention"] = ("prompt bidirectional over itself; H*7 action placeholders (one learned"
                                               " vector + their positions) attend to the prompt and to each other")
    model_json["architecture"]["decoding"] = "parallel: every action token of the chunk from one forward pass"
    model_json["architecture"]["max_positions"] = cfg.max_positions
    # Greedy requests read the continuous dimensions as their distribution's mean (docs/model-package.md):
    # one pass cannot condition a token on the others, and the most likely token of an unsure
    # correction is "no motion", which left the robot short of its targets.
    model_json["action"]["mean_readout"] = [d["name"] for d in prof["dimensions"] if d["name"] != "gripper"]
    model_json["metrics"]["batch_max_abs_diff"] = err
    write_manifest(args.out, model_json, ("prefill.onnx",))


def write_manifest(out, model_json, graphs):
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model_json, f, indent=1)
    for name in (*graphs, "parity.json", "model.json", "dataset_statistics.json"):
        print(f"  {name:26s} {os.path.getsize(os.path.join(out, name)) / 1e6:7.2f} MB")


def manifest(args, model, ckpt, ds, prof):
    cfg = model.cfg
    n, h, hd, t0, v = cfg.layers, cfg.heads, cfg.head_dim, cfg.prompt_len, cfg.vocab_size
    s = cfg.image_size
    tr = dict(ckpt["training"])
    held_out_eps = tr.pop("held_out_episodes")
    model_json = {
        "format": kv_io.FORMAT,
        "name": args.name,
        "version": args.version,
        "graphs": {"prefill": "prefill.onnx", "decode": "decode.onnx"},
        "image": {"camera": ds.meta["image"].get("camera", "third_person"), "height": s, "width": s},
        "text": {"vocab": ds.meta["text_vocab"], "max_instruction_tokens": cfg.instruction_len,
                 "pad_id": dsmod.PAD_ID, "bos_id": dsmod.BOS_ID, "eos_id": dsmod.EOS_ID, "unk_id": dsmod.UNK_ID},
        "proprio_names": ds.meta["proprio_names"],
        "action": {"profile": prof, "chunk_length": cfg.chunk, "step_period_s": ds.meta.get("step_period_s", 0.1),
                   "unnorm_key": ds.unnorm_key, "statistics": "dataset_statistics.json"},
        "vocab_size": v,
        "architecture": {
            "layers": n, "heads": h, "head_dim": hd, "d_model": cfg.d_model, "prompt_length": t0,
            "max_positions": cfg.max_positions,
            "image_tokens": cfg.image_tokens, "instruction_tokens": cfg.instruction_len, "proprio_tokens": 1,
            "image_encoder": (f"conv stem (k4/s2 {cfg.stem_channels[0]}, k3/s1 {cfg.stem_channels[1]}, "
                              f"k3/s2 {cfg.stem_channels[2]}, to d_model) on RGB + 2 pixel-coordinate channels "
                              f"-> {cfg.grid}x{cfg.grid} grid tokens, plus {cfg.keypoints} spatial-softmax keypoint "
                              f"tokens from the stride-2 feature map, plus {cfg.text_queries} instruction-queried "
                              f"spatial-softmax tokens (bag-of-words colour queries over the full-resolution RGB)"),
            "attention": "prefix-LM: prompt bidirectional, action tokens causal",
            "positions": "learned absolute, one table over prompt and action positions",
            "parameters": count_parameters(model),
            "opset": OPSET,
        },
        "skills": ds.meta["instructions"],
        "training": {
            "dataset_command": args.dataset_command or ds.meta.get("command"),
            "dataset_seed": ds.meta.get("seed"), "dataset_steps": ds.steps,
            **({"dataset_parts": ds.meta["parts"]} if "parts" in ds.meta else {}),
            "dataset_episodes": int(len(np.unique(ds.episode_ids))),
            "held_out_episodes": len(held_out_eps),
            **tr,
            "dataset_seconds": args.dataset_seconds,
            "wall_seconds": args.wall_seconds,
            "machine": MACHINE,
            "libraries": {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                          "python": platform.python_version()},
        },
        "metrics": ckpt["metrics"],
        "parity": {"file": "parity.json", "tolerance": 1e-4},
    }
    return model_json


if __name__ == "__main__":
    main()
