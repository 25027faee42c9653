"""Writes a small *synthetic* dataset in the exact `vla-serve-dataset/1` layout (docs/dataset.md).

Test fixture only: it lets the loader, training loop and export run end to end without the Java
generator. Scenes are crude (coloured 3x3 squares and a dark gripper blob on a grey table, a
linear world->pixel map) but the labels depend on them the way the real expert's do (proportional
moves towards the named block), so a working model visibly learns. Unlike the real pipeline it
has to tokenize actions itself (the OpenVLA encode formula in numpy); real data always uses the
Java tokenizer's action_tokens.npy.

    python3 make_synthetic.py --out /tmp/synth --episodes 60 [--image-size 64]
"""
import argparse
import json
import os

import numpy as np

COLOURS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 200), "yellow": (220, 200, 40)}
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
PROPRIO_NAMES = ["x", "y", "z", "qx", "qy", "qz", "qw", "gripper"]
VOCAB_SIZE, BINS = 320, 256


def instructions():
    out = []
    for c in COLOURS:
        out.append(f"move to the {c} block")
    for c in COLOURS:
        out.append(f"grasp the {c} block")
    out.append("lift the block")
    out.append("move above the plate")
    for c in COLOURS:
        out.append(f"move above the {c} block")
    out.append("release the block")
    return out


def text_vocab(instr):
    vocab = ["<pad>", "<bos>", "<eos>", "<unk>"]
    for t in instr:
        for w in t.split():
            if w not in vocab:
                vocab.append(w)
    vocab += [f"<unused_{i}>" for i in range(64 - len(vocab))]
    return vocab


def stats_of(x, mask):
    return {"mean": x.mean(0).tolist(), "std": x.std(0).tolist(), "max": x.max(0).tolist(),
            "min": x.min(0).tolist(), "q01": np.quantile(x, 0.01, axis=0).tolist(),
            "q99": np.quantile(x, 0.99, axis=0).tolist(), "mask": mask}


def openvla_encode(actions, q01, q99, mask):
    n = np.where(mask, np.clip(2 * (actions - q01) / (q99 - q01 + 1e-8) - 1, -1, 1), actions)
    edges = np.linspace(-1, 1, BINS)
    return (VOCAB_SIZE - np.digitize(np.clip(n, -1, 1), edges)).astype(np.int32)


def to_px(x, y, size):
    # image right = +y, image up = -x (towards the robot), like the real camera, minus perspective
    col = (y + 0.3) / 0.6 * (size - 1)
    row = (x - 0.25) / 0.5 * (size - 1)
    return int(round(row)), int(round(col))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--episodes", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--image-size", type=int, default=64)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    size = a.image_size
    instr = instructions()
    rows = {k: [] for k in ("images", "proprio", "actions", "instruction_ids", "task_ids",
                            "episode_ids", "subgoal_index", "step_in_subgoal")}
    colours = list(COLOURS)
    for ep in range(a.episodes):
        blocks = {c: rng.uniform([0.33, -0.2], [0.67, 0.2]) for c in rng.choice(colours, 3, replace=False)}
        tcp = np.array([rng.uniform(0.38, 0.62), rng.uniform(-0.2, 0.2), rng.uniform(0.18, 0.28)])
        target_c = list(blocks)[0]
        plan = [f"move to the {target_c} block", f"grasp the {target_c} block", "lift the block"]
        for sg, text in enumerate(plan):
            for k in range(int(rng.integers(4, 9))):
                img = np.full((size, size, 3), 150, np.uint8)
                for c, (bx, by) in blocks.items():
                    r, col = to_px(bx, by, size)
                    img[max(r - 1, 0):r + 2, max(col - 1, 0):col + 2] = COLOURS[c]
                r, col = to_px(tcp[0], tcp[1], size)
                img[max(r - 3, 0):r + 1, max(col - 2, 0):col + 3] = 20
                target = np.array([*blocks[target_c], 0.08 if sg == 0 else (0.02 if sg == 1 else 0.2)])
                act = np.zeros(7)
                act[:3] = np.clip(0.8 * (target - tcp) + rng.normal(0, 0.002, 3), -0.05, 0.05)
                act[3:6] = rng.normal(0, 0.005, 3)
                act[6] = 0.0 if sg == 2 or (sg == 1 and k > 2) else 1.0
                rows["images"].append(img)
                rows["proprio"].append(np.array([*tcp, 0, 0, 0, 1, act[6]], np.float32))
                rows["actions"].append(act)
                rows["instruction_ids"].append(instr.index(text))
                rows["task_ids"].append(0)
                rows["episode_ids"].append(ep)
                rows["subgoal_index"].append(sg)
                rows["step_in_subgoal"].append(k)
                tcp = tcp + act[:3]
    os.makedirs(a.out, exist_ok=True)
    dt = {"images": np.uint8, "proprio": np.float32, "actions": np.float64}
    arrays = {k: np.asarray(v, dtype=dt.get(k, np.int32)) for k, v in rows.items()}
    act_mask = [True] * 6 + [False]
    stats = {"tiny_sim": {"action": stats_of(arrays["actions"], act_mask),
                          "proprio": stats_of(arrays["proprio"].astype(np.float64), [True] * 7 + [False]),
                          "num_transitions": len(arrays["actions"]), "num_trajectories": a.episodes}}
    s = stats["tiny_sim"]["action"]
    arrays["action_tokens"] = openvla_encode(arrays["actions"], np.array(s["q01"]), np.array(s["q99"]), np.array(act_mask))
    for k, v in arrays.items():
        np.save(os.path.join(a.out, k + ".npy"), v)
    profile = {"name": "tiny_sim", "scheme": "openvla", "bins": BINS, "vocab_size": VOCAB_SIZE,
               "dimensions": [{"name": n, "low": s["q01"][i], "high": s["q99"][i],
                               **({} if act_mask[i] else {"normalized": False})} for i, n in enumerate(ACTION_NAMES)]}
    meta = {"format": "vla-serve-dataset/1", "steps": len(arrays["actions"]), "episodes": a.episodes,
            "seed": a.seed, "command": "make_synthetic.py (synthetic fixture)",
            "image": {"height": size, "width": size, "channels": 3, "camera": "third_person"},
            "step_period_s": 0.1, "action_names": ACTION_NAMES, "proprio_names": PROPRIO_NAMES,
            "instructions": instr, "tasks": ["pick up the block"], "text_vocab": text_vocab(instr),
            "tokenizer_profile": profile, "unnorm_key": "tiny_sim", "expert": {"synthetic": True}}
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(a.out, "dataset_statistics.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(f"wrote {len(arrays['actions'])} synthetic steps to {a.out}")


if __name__ == "__main__":
    main()
