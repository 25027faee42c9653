"""Train the tiny VLA on a `vla-serve-dataset/1` directory; writes a checkpoint and metrics.

    /usr/bin/python3 train.py --data target/tiny-vla/dataset --out target/tiny-vla/train [--epochs 8 ...]

Seeded (numpy + torch, single process, fixed thread count), so a rerun on the same data and
machine reproduces the run up to floating-point non-determinism of the BLAS library.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset as dsmod  # noqa: E402
from model import Config, TinyVLA, count_parameters  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    ap.add_argument("--chunk", type=int, default=4, help="H, future steps per chunk")
    ap.add_argument("--grid", type=int, default=4)
    ap.add_argument("--keypoints", type=int, default=8)
    ap.add_argument("--text-queries", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--smooth-sigma", type=float, default=2.0,
                    help="Gaussian soft targets over neighbouring bins (in bins) for the normalised dims; 0 = plain CE")
    ap.add_argument("--held-out", type=float, default=0.1)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--eval-rows", type=int, default=4000, help="held-out rows for the autoregressive metrics")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many optimiser steps (smoke tests)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", default=None, help="start from this checkpoint's weights (fine-tuning)")
    ap.add_argument("--parallel", action="store_true",
                    help="parallel decoding: every action token of a chunk from one pass over placeholders")
    ap.add_argument("--targets", choices=("plan", "executed"), default="plan",
                    help="chunk labels: the expert's plan from each row (every step supervised), or the next H "
                         "rows' labels within the subgoal segment (later steps masked past its end)")
    ap.add_argument("--prefix-prob", type=float, default=0.0,
                    help="fraction of rows trained as the continuation of a committed prefix (real-time chunking)")
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------------- helpers
def colour_jitter(img_u8: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Brightness and per-channel gain only: geometry (where blocks are) must stay untouched."""
    b = img_u8.shape[0]
    bright = 1.0 + 0.15 * (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1)
    gains = 1.0 + 0.05 * (torch.rand(b, 1, 1, 3, generator=gen) * 2 - 1)
    offset = 8.0 * (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1)
    return (img_u8.float() * bright * gains + offset).clamp_(0.0, 255.0)


def soft_target_table(bins: int, sigma: float) -> torch.Tensor:
    """[bins, bins] rows = target distributions over bins centred on the true bin."""
    i = torch.arange(bins, dtype=torch.float32)
    k = torch.exp(-0.5 * ((i[None, :] - i[:, None]) / sigma) ** 2)
    k[k < 1e-3] = 0.0
    return k / k.sum(1, keepdim=True)


def action_loss(logits, targets, valid, first_action_id, dims, smooth_table, smooth_dims):
    """Cross-entropy over the valid action positions.

    logits [B, A, V], targets [B, A] token ids, valid [B, A] bool. For the normalised dimensions
    (smooth_dims) the target is a narrow Gaussian over neighbouring bins: tokens are ordinal
    (adjacent bins are ~0.4 mm apart), and spreading a little mass tells the model so, which
    helps with a few tens of thousands of rows. The gripper keeps a one-hot target.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)          # [B, A]
    if smooth_table is not None:
        a = logits.shape[1]
        dim_of = torch.arange(a) % dims
        use = torch.isin(dim_of, smooth_dims)                          # [A]
        q = smooth_table[(targets - first_action_id).clamp(0, smooth_table.shape[0] - 1)]  # [B, A, bins]
        soft = -(q * logp[..., first_action_id:first_action_id + smooth_table.shape[0]]).sum(-1)
        nll = torch.where(use[None, :], soft, nll)
    w = valid.float()
    return (nll * w).sum() / w.sum().clamp(min=1.0)


def executed_tokens(ds, vocab: int, bins: int) -> np.ndarray:
    """Tokens [S, 7] of what each step really did: the translation the TCP made to the next row of
    the episode (the executed action, perturbed or clamped, rather than the expert's label); rotation
    and gripper as labelled (perturbations of rotation are not observable from proprio alone).
    Encoded as the Java tokenizer does (OpenVLA: q01/q99 normalisation where masked, np.digitize)."""
    executed = ds.actions.copy()
    s = ds.steps
    nxt = np.minimum(np.arange(s) + 1, s - 1)
    same = (np.arange(s) + 1 < s) & (ds.episode_ids[nxt] == ds.episode_ids)
    executed[same, 0:3] = ds.proprio[nxt[same], 0:3].astype(np.float64) - ds.proprio[same, 0:3].astype(np.float64)
    stats = ds.action_stats
    q01 = np.asarray(stats["q01"], dtype=np.float64)
    q99 = np.asarray(stats["q99"], dtype=np.float64)
    mask = np.asarray(stats["mask"], dtype=bool)
    n = np.where(mask, 2.0 * (executed - q01) / np.where(q99 > q01, q99 - q01, 1.0) - 1.0, executed)
    n = np.clip(n, -1.0, 1.0)
    return (vocab - np.digitize(n, np.linspace(-1.0, 1.0, bins))).astype(np.int64)


def with_committed_prefixes(tgt, val, executed, dims, horizon, prob, gen):
    """Turns a random {@code prob} of the rows into continuations of a committed prefix of d steps
    (1 <= d < valid steps): the model's inputs for steps < d are what the robot executed, and only
    steps >= d are trained, labelled with the expert's actions at the states those executed steps
    led to. Returns the teacher-forcing inputs and the loss mask."""
    inputs = tgt.clone()
    valid = val.clone()
    b = tgt.shape[0]
    steps_valid = val.view(b, horizon, dims)[:, :, 0].sum(1)                     # [B]
    chosen = (torch.rand(b, generator=gen) < prob) & (steps_valid >= 2)
    for row in torch.nonzero(chosen).flatten().tolist():
        d = int(torch.randint(1, int(steps_valid[row]), (1,), generator=gen))
        inputs[row, :d * dims] = executed[row, :d * dims]
        valid[row, :d * dims] = False
    return inputs, valid


class Batches:
    """Holds the dataset as tensors and yields training batches."""

    def __init__(self, ds, cfg: Config, targets, valid, instr_table):
        self.images = torch.from_numpy(ds.images)                      # uint8, shared memory
        self.proprio = torch.from_numpy(ds.proprio.astype(np.float32))
        self.instr = torch.from_numpy(instr_table[ds.instruction_ids])  # [S, L] int64
        a = cfg.action_len
        self.targets = torch.from_numpy(targets.reshape(len(targets), a))             # [S, H*7]
        self.valid = torch.from_numpy(np.repeat(valid, cfg.action_dims, axis=1))     # [S, H*7]
        self.executed = None

    def with_executed(self, executed_chunks):
        """Executed-action tokens [S, H, 7] aligned with the targets, for committed prefixes."""
        self.executed = torch.from_numpy(executed_chunks.reshape(len(executed_chunks), -1))
        return self

    def get(self, rows):
        r = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        return self.images[r], self.instr[r], self.proprio[r], self.targets[r], self.valid[r]

    def get_executed(self, rows):
        return self.executed[torch.from_numpy(np.asarray(rows, dtype=np.int64))]


@torch.no_grad()
def greedy_chunks(model: TinyVLA, image, instr, proprio, first_action_id):
    """Greedy decoding as the server does it: prefill + decode, or one pass for a parallel model."""
    cfg = model.cfg
    if cfg.parallel:
        logits = model.predict_all(image, instr, proprio)
        return logits[..., first_action_id:].argmax(-1) + first_action_id
    logits, kv = model.prefill(image, instr, proprio)
    b = image.shape[0]
    out = torch.empty(b, cfg.action_len, dtype=torch.long)
    for k in range(cfg.action_len):
        tok = logits[:, first_action_id:].argmax(-1) + first_action_id   # mask to the action slice
        out[:, k] = tok
        if k == cfg.action_len - 1:
            break
        pos = torch.full((b, 1), cfg.prompt_len + k, dtype=torch.long)
        mask = torch.ones(b, kv.shape[4] + 1)
        logits, kv = model.decode(tok[:, None], pos, kv, mask)
    return out


@torch.no_grad()
def evaluate(model, batches: Batches, ds, rows, cfg, first_action_id, eval_rows, rng_seed=0, batch=256, plans=False):
    """Held-out metrics: teacher-forced loss/token accuracy and greedy-decoded action error, against
    the expert's plans when the model was trained on them, else against the next rows' labels."""
    model.eval()
    dims, h = cfg.action_dims, cfg.chunk
    correct = np.zeros(dims)
    count = np.zeros(dims)
    loss_sum = loss_n = 0.0
    for s in range(0, len(rows), batch):
        img, ins, pro, tgt, val = batches.get(rows[s:s + batch])
        logits = model(img, ins, pro, tgt[:, :-1])
        v = val.float()
        loss_sum += float((F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none") * v).sum())
        loss_n += float(v.sum())
        hit = (logits[..., first_action_id:].argmax(-1) + first_action_id == tgt) & val
        hit = hit.view(-1, h, dims).sum((0, 1)).numpy()
        n = val.view(-1, h, dims).sum((0, 1)).numpy()
        correct += hit
        count += n
    # Autoregressive action error on a fixed subset of held-out rows.
    rng = np.random.default_rng(rng_seed)
    sub = np.sort(rng.choice(rows, size=min(eval_rows, len(rows)), replace=False))
    stats = ds.action_stats
    vocab = cfg.vocab_size
    err_first, err_all, n_all = np.zeros(dims), np.zeros(dims), np.zeros(dims)
    floor_first = np.zeros(dims)
    ends = dsmod.segment_ends(ds)
    xy_err, xy_n = {}, {}
    instr_text = ds.meta["instructions"]
    for s in range(0, len(sub), batch):
        r = sub[s:s + batch]
        img, ins, pro, tgt, val = batches.get(r)
        pred = greedy_chunks(model, img, ins, pro, first_action_id).view(-1, h, dims).numpy()
        pred_a = dsmod.decode_tokens(pred, stats, vocab)                      # [b, H, 7]
        if plans:
            true_a = ds.plan_actions[r, :h]                                    # [b, H, 7]
            ok = np.ones((len(r), h), dtype=bool)
            floor_first += np.abs(dsmod.decode_tokens(ds.plan_tokens[r, 0], stats, vocab) - ds.plan_actions[r, 0]).sum(0)
        else:
            idx = np.minimum(r[:, None] + np.arange(h)[None, :], (ends[r] - 1)[:, None])
            true_a = ds.actions[idx]                                           # [b, H, 7]
            ok = (r[:, None] + np.arange(h)[None, :]) < ends[r][:, None]       # [b, H]
            floor_first += np.abs(dsmod.decode_tokens(ds.action_tokens[r], stats, vocab) - ds.actions[r]).sum(0)
        e = np.abs(pred_a - true_a)
        err_first += e[:, 0].sum(0)
        err_all += (e * ok[..., None]).sum((0, 1))
        n_all += ok.sum()
        for j, row in enumerate(r):
            skill = re.sub(r"\b(red|green|blue|yellow)\b", "C", instr_text[ds.instruction_ids[row]])
            xy_err[skill] = xy_err.get(skill, 0.0) + float(np.hypot(*(pred_a[j, 0, :2] - true_a[j, 0, :2])))
            xy_n[skill] = xy_n.get(skill, 0) + 1
    names = ds.meta["action_names"]
    m = {
        "held_out_rows": int(len(rows)),
        "held_out_loss": loss_sum / max(loss_n, 1.0),
        "token_accuracy": {names[d]: float(correct[d] / max(count[d], 1)) for d in range(dims)},
        "action_error_rows": int(len(sub)),
        "action_mae_first_step": {names[d]: float(err_first[d] / len(sub)) for d in range(dims)},
        "action_mae_chunk": {names[d]: float(err_all[d] / max(n_all[d], 1)) for d in range(dims)},
        "tokenizer_floor_mae": {names[d]: float(floor_first[d] / len(sub)) for d in range(dims)},
        "xy_error_first_step_by_skill": {k: xy_err[k] / xy_n[k] for k in sorted(xy_err)},
    }
    model.train()
    return m


def cosine_lr(step, total, warmup, base):
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    ds = dsmod.load(args.data)
    prof = ds.meta["tokenizer_profile"]
    vocab, bins = prof["vocab_size"], prof["bins"]
    first_action_id = vocab - bins
    dims = len(ds.meta["action_names"])
    L = dsmod.instruction_length(ds.meta["instructions"])
    cfg = Config(image_size=ds.meta["image"]["height"], grid=args.grid, keypoints=args.keypoints, text_queries=args.text_queries, d_model=args.d_model,
                 layers=args.layers, heads=args.heads, instruction_len=L,
                 proprio_dim=ds.proprio.shape[1], action_dims=dims, chunk=args.chunk, vocab_size=vocab,
                 parallel=args.parallel)
    if args.prefix_prob > 0 and args.targets != "executed":
        raise SystemExit("--prefix-prob labels continuations with the executed rows: use --targets executed")
    if args.parallel and args.prefix_prob > 0:
        raise SystemExit("--prefix-prob trains committed prefixes, which a parallel model cannot take")
    ps = ds.proprio_stats
    model = TinyVLA(cfg, proprio_mean=ps["mean"], proprio_std=ps["std"])
    if args.init:
        model.load_state_dict(torch.load(args.init)["state_dict"])
        print(f"initialised from {args.init}", flush=True)
    n_params = count_parameters(model)
    print(f"data {args.data}: {ds.steps} rows, {len(np.unique(ds.episode_ids))} episodes, image {cfg.image_size}, "
          f"L={L}, T0={cfg.prompt_len}, H={cfg.chunk}; model {n_params:,} parameters", flush=True)

    if args.targets == "plan":
        targets, valid = dsmod.plan_targets(ds, cfg.chunk, prefixes=not args.parallel)
        committed = int((ds.committed_steps > 0).sum())
        if committed:
            print(f"{committed} rows continue a committed prefix" + (" (masked out: a parallel model takes none)"
                                                                     if args.parallel else ""), flush=True)
    else:
        targets, valid = dsmod.chunk_targets(ds, cfg.chunk)
    instr_table = dsmod.instruction_table(ds.meta, L)
    batches = Batches(ds, cfg, targets, valid, instr_table)
    if args.prefix_prob > 0:
        ends = dsmod.segment_ends(ds)
        idx = np.minimum(np.arange(ds.steps)[:, None] + np.arange(cfg.chunk)[None, :], (ends - 1)[:, None])
        batches.with_executed(executed_tokens(ds, vocab, bins)[idx])
    train_rows, val_rows, val_eps = dsmod.split_episodes(ds.episode_ids, args.held_out, args.split_seed)
    print(f"split: {len(train_rows)} train rows, {len(val_rows)} held-out rows ({len(val_eps)} episodes)", flush=True)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and not n.startswith("pos.")]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and not n.startswith("pos."))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    steps_per_epoch = len(train_rows) // args.batch
    total = steps_per_epoch * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)
    smooth = soft_target_table(bins, args.smooth_sigma) if args.smooth_sigma > 0 else None
    mask = ds.action_stats["mask"]
    smooth_dims = torch.tensor([d for d in range(dims) if mask[d]])
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    history = []
    step = 0
    t_train = time.time()
    model.train()
    for epoch in range(args.epochs):
        order = rng.permutation(train_rows)
        run_loss, run_n, t_ep = 0.0, 0, time.time()
        for b in range(steps_per_epoch):
            if step >= total:
                break
            img, ins, pro, tgt, val = batches.get(order[b * args.batch:(b + 1) * args.batch])
            img = img.float() if args.no_augment else colour_jitter(img, gen)
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, total, args.warmup, args.lr)
            inputs = tgt
            if args.prefix_prob > 0:
                rows = order[b * args.batch:(b + 1) * args.batch]
                inputs, val = with_committed_prefixes(tgt, val, batches.get_executed(rows), dims, cfg.chunk,
                                                      args.prefix_prob, gen)
            logits = model(img, ins, pro, inputs[:, :-1])
            loss = action_loss(logits, tgt, val, first_action_id, dims, smooth, smooth_dims)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            run_loss += float(loss)
            run_n += 1
            if step % 50 == 0:
                print(f"  epoch {epoch} step {step}/{total} loss {run_loss / run_n:.4f} "
                      f"({(time.time() - t_ep) / (b + 1):.2f} s/step)", flush=True)
        history.append({"epoch": epoch, "train_loss": run_loss / max(run_n, 1), "seconds": time.time() - t_ep})
        print(f"epoch {epoch}: train loss {run_loss / max(run_n, 1):.4f} in {time.time() - t_ep:.0f}s", flush=True)
        if step >= total:
            break
    train_seconds = time.time() - t_train

    # Greedy decoding here sends no prefix: rows that continue one are left out of the metrics.
    eval_rows = val_rows[ds.committed_steps[val_rows] == 0]
    metrics = evaluate(model, batches, ds, eval_rows, cfg, first_action_id, args.eval_rows, plans=args.targets == "plan")
    metrics["train_loss_by_epoch"] = [h["train_loss"] for h in history]
    print(json.dumps(metrics, indent=1), flush=True)
    ckpt = {
        "config": cfg.to_dict(), "state_dict": model.state_dict(), "metrics": metrics,
        "training": {
            "seed": args.seed, "split_seed": args.split_seed, "held_out_fraction": args.held_out,
            "held_out_episodes": [int(e) for e in val_eps], "epochs": len(history), "optimizer_steps": step,
            "batch_size": args.batch, "optimizer": f"AdamW(lr={args.lr}, betas=(0.9, 0.95), weight_decay={args.weight_decay})",
            "lr_schedule": f"linear warm-up {args.warmup} steps, cosine to 5% over {total} steps",
            "targets": args.targets,
            "loss": ("cross-entropy on action tokens only (teacher forcing), "
                     + ("every step labelled by the expert's noiseless plan from the row's state" if args.targets == "plan"
                        else "steps past the subgoal segment's end masked")
                     + (f"; Gaussian soft targets sigma={args.smooth_sigma} bins on normalised dims" if smooth is not None else "")
                     + (f"; {args.prefix_prob:.0%} of rows as continuations of a committed prefix of d ~ U[1, valid steps)"
                        " executed steps (inputs: executed translations, loss on steps >= d)" if args.prefix_prob > 0 else "")),
            "init": args.init,
            "augmentation": "none" if args.no_augment else "brightness x[0.85,1.15], per-channel gain x[0.95,1.05], offset +-8 (no geometric)",
            "train_rows": int(len(train_rows)), "parameters": n_params,
            "train_seconds": train_seconds, "total_seconds": time.time() - t_start,
            "torch": torch.__version__, "numpy": np.__version__, "threads": args.threads,
        },
        "data": args.data,
    }
    torch.save(ckpt, os.path.join(args.out, "checkpoint.pt"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"metrics": metrics, "training": ckpt["training"], "config": cfg.to_dict()}, f, indent=1)
    print(f"training took {train_seconds:.0f}s; wrote {args.out}/checkpoint.pt", flush=True)


if __name__ == "__main__":
    main()
