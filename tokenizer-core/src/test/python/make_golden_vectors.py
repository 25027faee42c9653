#!/usr/bin/python3
"""Golden vectors for the Java action tokenizer, computed independently with numpy.

The OpenVLA part reimplements openvla/openvla's ActionTokenizer and BOUNDS_Q99 normalisation
with the same numpy calls (linspace, digitize, clip, bin centres), in float64. The uniform part
evaluates the RT-2 formula. Run from this directory; it rewrites
../resources/golden/tokenizer-golden.json. CI never runs it: the JSON is committed.

    /usr/bin/python3 make_golden_vectors.py      (needs Debian's python3-numpy)
"""
import json
import os

import numpy as np

VOCAB_SIZE = 32000
BINS = 256
OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "golden", "tokenizer-golden.json")

BRIDGE = {
    "mask": [True, True, True, True, True, True, False],
    "max": [0.41691166162490845, 0.25864794850349426, 0.21218234300613403, 3.122201919555664,
            1.8618112802505493, 6.280478477478027, 1.0],
    "min": [-0.4007510244846344, -0.13874775171279907, -0.22553899884223938, -3.2010786533355713,
            -1.8618112802505493, -6.279075622558594, 0.0],
    "q01": [-0.02872725307941437, -0.04170349963009357, -0.026093858778476715, -0.08092105075716972,
            -0.09288699507713317, -0.20718276381492615, 0.0],
    "q99": [0.028309678435325586, 0.040855254605412394, 0.040161586627364146, 0.08192047759890528,
            0.07792850524187081, 0.20382574498653397, 1.0],
}
# A dataset with a dimension that never moved (min == max) and an unmasked gripper.
CONSTANT_DIM = {
    "mask": [True, True, False],
    "min": [-1.0, 0.25, 0.0],
    "max": [1.0, 0.25, 1.0],
    "q01": [-0.5, 0.25, 0.0],
    "q99": [0.5, 0.25, 1.0],
}

bins = np.linspace(-1, 1, BINS)
bin_centers = (bins[:-1] + bins[1:]) / 2.0


def normalize(x, stats):
    """prismatic/vla/datasets/rlds/utils/data_utils.py, BOUNDS_Q99 then the min == max zeroing."""
    low, high = np.array(stats["q01"]), np.array(stats["q99"])
    mask = np.array(stats["mask"])
    out = np.where(mask, np.clip(2 * (x - low) / (high - low + 1e-8) - 1, -1, 1), x)
    zeros_mask = np.array(stats["min"]) == np.array(stats["max"])
    return np.where(zeros_mask, 0.0, out)


def openvla_encode(action, stats):
    normalized = normalize(np.array(action, dtype=np.float64), stats)
    clipped = np.clip(normalized, a_min=-1.0, a_max=1.0)
    return (VOCAB_SIZE - np.digitize(clipped, bins)).tolist()


def openvla_decode(tokens, stats):
    discretized = VOCAB_SIZE - np.array(tokens)
    discretized = np.clip(discretized - 1, a_min=0, a_max=bin_centers.shape[0] - 1)
    normalized = bin_centers[discretized]
    mask = np.array(stats["mask"])
    high, low = np.array(stats["q99"]), np.array(stats["q01"])
    return np.where(mask, 0.5 * (normalized + 1) * (high - low) + low, normalized).tolist()


def ulps(x):
    return [float(np.nextafter(x, -np.inf)), float(x), float(np.nextafter(x, np.inf))]


def openvla_cases(stats, rng, random_count):
    dims = len(stats["q01"])
    values = []  # per-dimension probe values
    for d in range(dims):
        lo, hi = stats["q01"][d], stats["q99"][d]
        probes = ulps(lo) + ulps(hi) + [0.0, -0.0, lo - 10.0, hi + 10.0, -1e300, 1e300, (lo + hi) / 2]
        values.append(probes)
    cases = []
    width = max(len(v) for v in values)
    for i in range(width):
        action = [values[d][i % len(values[d])] for d in range(dims)]
        cases.append(action)
    for _ in range(random_count):
        lo, hi = np.array(stats["q01"]), np.array(stats["q99"])
        span = np.maximum(hi - lo, 1e-3)
        cases.append((lo - 0.2 * span + rng.random(dims) * 1.4 * span).tolist())
    return [{"action": a, "tokens": openvla_encode(a, stats),
             "decoded": openvla_decode(openvla_encode(a, stats), stats)} for a in cases]


def uniform_profile_cases(lows, highs, k, layout, vocab_base, rng, random_count):
    lows, highs = np.array(lows), np.array(highs)
    dims = len(lows)

    def encode(a):
        b = np.clip(np.floor((np.array(a) - lows) / (highs - lows) * k), 0, k - 1).astype(np.int64)
        offsets = np.arange(dims) * k if layout == "per_dimension" else np.zeros(dims, dtype=np.int64)
        return (vocab_base + offsets + b).tolist(), b

    def decode(b):
        return (lows + (b + 0.5) * (highs - lows) / k).tolist()

    probes = []
    for d in range(dims):
        edge_values = []
        for j in (0, 1, k // 2, k - 1, k):
            edge_values += ulps(lows[d] + j * (highs[d] - lows[d]) / k)
        edge_values += [0.0, -0.0, lows[d] - 5.0, highs[d] + 5.0, -1e300, 1e300]
        probes.append(edge_values)
    cases = [[probes[d][i % len(probes[d])] for d in range(dims)] for i in range(max(map(len, probes)))]
    for _ in range(random_count):
        cases.append((lows + rng.random(dims) * (highs - lows)).tolist())
    out = []
    for a in cases:
        tokens, b = encode(a)
        out.append({"action": a, "tokens": tokens, "decoded": decode(b)})
    return out


def main():
    rng = np.random.default_rng(20261121)
    digitize = []
    for e in bins:
        for x in ulps(float(e)):
            if -1.0 <= x <= 1.0:
                digitize.append({"x": x, "digitized": int(np.digitize(x, bins))})
    digitize.append({"x": -0.0, "digitized": int(np.digitize(-0.0, bins))})
    doc = {
        "generator": "tokenizer-core/src/test/python/make_golden_vectors.py",
        "numpy": np.__version__,
        "openvla": {
            "vocab_size": VOCAB_SIZE,
            "bins": BINS,
            "bin_edges": bins.tolist(),
            "bin_centers": bin_centers.tolist(),
            "digitize": digitize,
            "decode_every_token_bridge": [
                {"token": t, "decoded": openvla_decode([t] * 7, BRIDGE)} for t in range(VOCAB_SIZE - BINS, VOCAB_SIZE)],
            "datasets": {
                "bridge_orig": {"stats": BRIDGE, "cases": openvla_cases(BRIDGE, rng, 200)},
                "constant_dim": {"stats": CONSTANT_DIM, "cases": openvla_cases(CONSTANT_DIM, rng, 50)},
            },
        },
        "uniform": {
            "eef-delta-7dof": uniform_profile_cases(
                [-0.05] * 3 + [-0.4] * 3 + [0.0], [0.05] * 3 + [0.4] * 3 + [1.0], 256, "per_dimension", 31744, rng, 200),
            "odd-bounds-shared": uniform_profile_cases(
                [-0.3, 0.1, -2.5], [0.7, 0.30000000000000004, 3.25], 100, "shared", 1000, rng, 100),
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
