"""numpy loader for the `vla-serve-dataset/1` format (docs/dataset.md).

Action tokens are taken from action_tokens.npy as the Java tokenizer wrote them; this module never
re-tokenizes. The only tokenizer arithmetic here is the documented OpenVLA *decode* (token -> bin
centre -> un-normalised value), used for metrics.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

FORMAT = "vla-serve-dataset/1"
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


@dataclass
class Dataset:
    root: str
    meta: dict
    stats: dict                     # dataset_statistics.json as read
    images: np.ndarray              # uint8 [S, H, W, 3]
    proprio: np.ndarray             # float32 [S, 8]
    actions: np.ndarray             # float64 [S, 7]
    action_tokens: np.ndarray       # int32 [S, 7]
    instruction_ids: np.ndarray     # int32 [S] (index into meta.instructions)
    task_ids: np.ndarray
    episode_ids: np.ndarray
    subgoal_index: np.ndarray
    step_in_subgoal: np.ndarray
    plan_actions: np.ndarray | None = None   # float64 [S, P, 7], the expert's plan from each row (optional)
    plan_tokens: np.ndarray | None = None    # int32 [S, P, 7]
    committed_steps: np.ndarray | None = None  # int32 [S]: leading plan steps that are a committed prefix (0: none)

    @property
    def steps(self) -> int:
        return int(self.images.shape[0])

    @property
    def unnorm_key(self) -> str:
        return self.meta.get("unnorm_key", "tiny_sim")

    @property
    def action_stats(self) -> dict:
        return self.stats[self.unnorm_key]["action"]

    @property
    def proprio_stats(self) -> dict:
        return self.stats[self.unnorm_key]["proprio"]


def load(root: str) -> Dataset:
    """One dataset directory, or several separated by commas, concatenated (e.g. demonstrations and
    on-policy rows recorded with `vla dataset generate --learner`, which must share the tokenizer
    profile, statistics, instructions and image size; episode ids are renumbered to stay unique)."""
    roots = [r for r in root.split(",") if r]
    if len(roots) > 1:
        return concatenate([load_one(r) for r in roots])
    return load_one(roots[0])


def concatenate(parts: list[Dataset]) -> Dataset:
    first = parts[0]
    for other in parts[1:]:
        for key in ("tokenizer_profile", "instructions", "tasks", "text_vocab", "image", "action_names",
                    "proprio_names", "unnorm_key"):
            if other.meta.get(key) != first.meta.get(key):
                raise ValueError(f"{other.root}: {key} differs from {first.root}'s; cannot train on both")
        if other.stats != first.stats:
            raise ValueError(f"{other.root}: dataset_statistics.json differs from {first.root}'s "
                             "(generate on-policy rows with the statistics the learner was trained on)")
        if (other.plan_tokens is None) != (first.plan_tokens is None):
            raise ValueError(f"{other.root}: plan_tokens.npy present in one dataset only")
    episode_ids, offset = [], 0
    for part in parts:
        episode_ids.append(part.episode_ids.astype(np.int64) + offset)
        offset += int(part.episode_ids.max()) + 1 if part.steps else 0
    meta = dict(first.meta)
    meta["steps"] = sum(p.steps for p in parts)
    meta["episodes"] = sum(int(p.meta["episodes"]) for p in parts)
    meta["command"] = " + ".join(p.meta.get("command", "?") for p in parts)
    meta["parts"] = [{"root": p.root, "steps": p.steps, "command": p.meta.get("command"),
                      "on_policy": p.meta.get("on_policy")} for p in parts]
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])
    return Dataset(
        root=",".join(p.root for p in parts), meta=meta, stats=first.stats,
        images=cat("images"), proprio=cat("proprio"), actions=cat("actions"), action_tokens=cat("action_tokens"),
        instruction_ids=cat("instruction_ids"), task_ids=cat("task_ids"),
        episode_ids=np.concatenate(episode_ids).astype(np.int32), subgoal_index=cat("subgoal_index"),
        step_in_subgoal=cat("step_in_subgoal"),
        plan_actions=cat("plan_actions") if first.plan_tokens is not None else None,
        plan_tokens=cat("plan_tokens") if first.plan_tokens is not None else None,
        committed_steps=np.concatenate([p.committed_steps for p in parts]),
    )


def load_one(root: str) -> Dataset:
    with open(os.path.join(root, "meta.json")) as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{root}: format {meta.get('format')!r}, expected {FORMAT!r}")
    with open(os.path.join(root, "dataset_statistics.json")) as f:
        stats = json.load(f)

    def arr(name, dtype):
        a = np.load(os.path.join(root, name + ".npy"))
        if a.dtype != np.dtype(dtype):
            raise ValueError(f"{name}.npy has dtype {a.dtype}, expected {dtype}")
        return a

    ds = Dataset(
        root=root, meta=meta, stats=stats,
        images=arr("images", np.uint8), proprio=arr("proprio", np.float32),
        actions=arr("actions", np.float64), action_tokens=arr("action_tokens", np.int32),
        instruction_ids=arr("instruction_ids", np.int32), task_ids=arr("task_ids", np.int32),
        episode_ids=arr("episode_ids", np.int32), subgoal_index=arr("subgoal_index", np.int32),
        step_in_subgoal=arr("step_in_subgoal", np.int32),
    )
    if os.path.exists(os.path.join(root, "plan_tokens.npy")):
        ds.plan_actions = arr("plan_actions", np.float64)
        ds.plan_tokens = arr("plan_tokens", np.int32)
    # Datasets written before real-time chunking rows existed have none: no row has a prefix.
    if os.path.exists(os.path.join(root, "committed_steps.npy")):
        ds.committed_steps = arr("committed_steps", np.int32)
    else:
        ds.committed_steps = np.zeros(ds.images.shape[0], dtype=np.int32)
    s = ds.steps
    for name in ("proprio", "actions", "action_tokens", "instruction_ids", "task_ids",
                 "episode_ids", "subgoal_index", "step_in_subgoal", "committed_steps"):
        if getattr(ds, name).shape[0] != s:
            raise ValueError(f"{name}.npy has {getattr(ds, name).shape[0]} rows, images.npy {s}")
    h, w = meta["image"]["height"], meta["image"]["width"]
    if ds.images.shape[1:] != (h, w, 3):
        raise ValueError(f"images.npy shape {ds.images.shape}, meta says {h}x{w}x3")
    v = meta["tokenizer_profile"]["vocab_size"]
    bins = meta["tokenizer_profile"]["bins"]
    if ds.action_tokens.min() < v - bins or ds.action_tokens.max() > v - 1:
        raise ValueError(f"action tokens outside {v - bins}..{v - 1}")
    return ds


# ------------------------------------------------------------------------------------ language
def words(text: str) -> list[str]:
    """The model.json rule: lower-cased, split on (runs of) spaces."""
    return text.lower().split()


def instruction_length(instructions: list[str]) -> int:
    """L = <bos> + the longest instruction's word count."""
    return 1 + max(len(words(t)) for t in instructions)


def encode_instruction(text: str, vocab: list[str], length: int) -> np.ndarray:
    index = {w: i for i, w in enumerate(vocab)}
    ids = [BOS_ID] + [index.get(w, UNK_ID) for w in words(text)]
    if len(ids) > length:
        raise ValueError(f"instruction {text!r} needs {len(ids)} tokens, L = {length}")
    return np.array(ids + [PAD_ID] * (length - len(ids)), dtype=np.int64)


def instruction_table(meta: dict, length: int) -> np.ndarray:
    """[num_instructions, L] int64 word ids, indexed by instruction_ids.npy."""
    return np.stack([encode_instruction(t, meta["text_vocab"], length) for t in meta["instructions"]])


# -------------------------------------------------------------------------------------- chunks
def segment_ends(ds: Dataset) -> np.ndarray:
    """For each row, the index one past the last row of its subgoal segment."""
    s = ds.steps
    boundary = np.ones(s, dtype=bool)            # boundary[i]: row i is the last of its segment
    boundary[:-1] = (ds.episode_ids[1:] != ds.episode_ids[:-1]) | (ds.subgoal_index[1:] != ds.subgoal_index[:-1])
    last = np.flatnonzero(boundary)
    # For each row, the first boundary at or after it.
    return last[np.searchsorted(last, np.arange(s))] + 1


def chunk_targets(ds: Dataset, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets [S, H, 7] (tokens of rows t..t+H-1) and a loss mask [S, H].

    Past the end of the subgoal segment there is no expert label, so those steps are *masked out
    of the loss*; their token slots (which the model still sees as teacher-forcing inputs for
    later, equally masked positions) repeat the segment's last label. Rows near a segment's end
    therefore train only the steps that really exist. We deliberately do not pad with "zero
    motion": that would need tokens the Java tokenizer never produced for this data, and it
    teaches the policy to stop short of the success threshold when it is merely close.
    """
    ends = segment_ends(ds)
    idx = np.arange(ds.steps)[:, None] + np.arange(horizon)[None, :]
    valid = idx < ends[:, None]
    idx = np.minimum(idx, (ends - 1)[:, None])
    return ds.action_tokens[idx].astype(np.int64), valid


def plan_targets(ds: Dataset, horizon: int, prefixes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Targets [S, H, 7]: the first H steps of the expert's plan from each row, and a loss mask. A
    plan depends on the row's state alone and goes on past the subgoal's success, so every step of
    a chunk is supervised (chunk_targets leaves the steps past a segment's end, which a robot
    executing late still runs, to chance).

    A row with a committed prefix (committed_steps d > 0, recorded in PREFIX mode) has those d steps
    first in its plan: they are teacher-forced as the model's inputs, as the server forces them,
    and masked out of the loss, so the model learns the continuation. Rows whose prefix leaves
    nothing of the chunk (d >= H), and every such row when `prefixes` is false (a parallel model,
    which cannot take a prefix), are masked out entirely."""
    if ds.plan_tokens is None:
        raise ValueError(f"{ds.root}: no plan_tokens.npy (generate the dataset again with this version)")
    if horizon > ds.plan_tokens.shape[1]:
        raise ValueError(f"chunk {horizon} is longer than the dataset's plans ({ds.plan_tokens.shape[1]} steps)")
    d = ds.committed_steps if ds.committed_steps is not None else np.zeros(ds.steps, dtype=np.int32)
    if not prefixes:
        d = np.where(d > 0, horizon, 0)
    valid = np.arange(horizon)[None, :] >= d[:, None]
    return ds.plan_tokens[:, :horizon].astype(np.int64), valid


def split_episodes(episode_ids: np.ndarray, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val) and the held-out episode numbers; split by whole episodes."""
    episodes = np.unique(episode_ids)
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(held_out * len(episodes))))
    val_eps = np.sort(rng.choice(episodes, size=n_val, replace=False))
    is_val = np.isin(episode_ids, val_eps)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val), val_eps


# ------------------------------------------------------------------------------ action decode
def decode_tokens(tokens: np.ndarray, action_stats: dict, vocab_size: int, bins: int = 256) -> np.ndarray:
    """OpenVLA decode: token -> bin centre of linspace(-1, 1, bins) -> 0.5 (n+1)(q99-q01)+q01 where mask."""
    edges = np.linspace(-1.0, 1.0, bins)
    centres = (edges[:-1] + edges[1:]) / 2.0
    index = np.clip(vocab_size - np.asarray(tokens) - 1, 0, bins - 2)
    n = centres[index]
    q01 = np.asarray(action_stats["q01"], dtype=np.float64)
    q99 = np.asarray(action_stats["q99"], dtype=np.float64)
    mask = np.asarray(action_stats["mask"], dtype=bool)
    return np.where(mask, 0.5 * (n + 1.0) * (q99 - q01) + q01, n)
