"""Give exported graphs per-layer KV cache I/O (docs/model-package.md, "KV cache I/O").

    /usr/bin/python3 kv_io.py models/tiny-vla    # rewrites prefill.onnx, decode.onnx and model.json in place

Converts a `vla-serve-model/1` package (one packed cache tensor) into `vla-serve-model/2`.

torch.onnx.export traces the model's one packed cache tensor `past_kv` / `present_kv`
[N, 2, B, heads, T, head_dim]. Reading it back costs ONNX Runtime a Gather per layer and per
key/value, and writing it a Concat of every layer's Concat: three copies of the whole cache per
decode step, ~40% of a decode step on the CPU. With one input and one output per layer and per
key/value (`past_key_values.{l}.key`, `present.{l}.value`, ...) the only copy left is the
per-layer Concat that appends the new position, and a server binds all of them to slices of the
same buffer, so the memory layout stays [N, 2, B, heads, T, head_dim].

The rewrite only renames tensors and drops the packing nodes: every arithmetic node and weight is
kept, so the logits are bit-for-bit those of the packed graph (the policy tests check parity.json).
Graphs that already have per-layer I/O are left alone.
"""
from __future__ import annotations

import argparse
import os
import sys

import onnx
from onnx import helper, numpy_helper

FORMAT_PACKED = "vla-serve-model/1"
FORMAT = "vla-serve-model/2"
PACKED_PAST = "past_kv"
PACKED_PRESENT = "present_kv"
KINDS = ("key", "value")


def past_name(layer: int, kv: int) -> str:
    return f"past_key_values.{layer}.{KINDS[kv]}"


def present_name(layer: int, kv: int) -> str:
    return f"present.{layer}.{KINDS[kv]}"


def _constants(graph):
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value_info.type.tensor_type.shape.dim]


def split_kv_io(model: onnx.ModelProto) -> bool:
    """Rewrites `model` in place; False if it has no packed cache I/O."""
    graph = model.graph
    inputs = {i.name: i for i in graph.input}
    outputs = {o.name: o for o in graph.output}
    if PACKED_PRESENT not in outputs:
        return False
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producer = {name: node for node in graph.node for name in node.output}
    constants = _constants(graph)
    present_dims = _dims(outputs[PACKED_PRESENT])
    layers = present_dims[0]
    rename, dead = {}, set()

    # past_kv -> Gather(layer) -> Gather(key or value): the second Gather's output becomes an input.
    if PACKED_PAST in inputs:
        for by_layer in consumers[PACKED_PAST]:
            if by_layer.op_type != "Gather":
                raise ValueError(f"{PACKED_PAST} feeds a {by_layer.op_type}, expected Gather by layer")
            layer = int(constants[by_layer.input[1]])
            dead.add(id(by_layer))
            for by_kind in consumers[by_layer.output[0]]:
                if by_kind.op_type != "Gather":
                    raise ValueError(f"layer {layer} of {PACKED_PAST} feeds a {by_kind.op_type}, expected Gather")
                rename[by_kind.output[0]] = past_name(layer, int(constants[by_kind.input[1]]))
                dead.add(id(by_kind))

    # present_kv = Concat_l(Unsqueeze(Concat_kv(Unsqueeze(K_l), Unsqueeze(V_l)))): K_l and V_l become outputs.
    top = producer[PACKED_PRESENT]
    if top.op_type != "Concat" or len(top.input) != layers:
        raise ValueError(f"{PACKED_PRESENT} comes from a {top.op_type} of {len(top.input)}, expected Concat of {layers}")
    dead.add(id(top))
    for layer, stacked in enumerate(top.input):
        unsqueeze = producer[stacked]
        per_layer = producer[unsqueeze.input[0]]
        if unsqueeze.op_type != "Unsqueeze" or per_layer.op_type != "Concat" or len(per_layer.input) != 2:
            raise ValueError(f"layer {layer} of {PACKED_PRESENT} is not Unsqueeze(Concat(key, value))")
        dead.update((id(unsqueeze), id(per_layer)))
        for kv, stacked_kind in enumerate(per_layer.input):
            unsqueeze_kind = producer[stacked_kind]
            if unsqueeze_kind.op_type != "Unsqueeze":
                raise ValueError(f"layer {layer} {KINDS[kv]} of {PACKED_PRESENT} is not an Unsqueeze")
            dead.add(id(unsqueeze_kind))
            rename[unsqueeze_kind.input[0]] = present_name(layer, kv)

    live = [node for node in graph.node if id(node) not in dead]
    for node in live:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = rename.get(name, name)
    used = {name for node in live for name in node.input}
    live = [node for node in live if not (node.op_type == "Constant" and node.output[0] not in used)]
    del graph.node[:]
    graph.node.extend(live)

    heads, head_dim = present_dims[3], present_dims[5]
    if PACKED_PAST in inputs:
        past_dims = _dims(inputs[PACKED_PAST])
        kv_inputs = [helper.make_tensor_value_info(past_name(l, kv), onnx.TensorProto.FLOAT,
                                                   [past_dims[2], heads, past_dims[4], head_dim])
                     for l in range(layers) for kv in range(2)]
        kept = [i for i in graph.input if i.name != PACKED_PAST]
        # token_ids, position_ids, the cache, attention_mask: the order the packed graph had
        ordered = [i for i in kept if i.name != "attention_mask"] + kv_inputs + [i for i in kept if i.name == "attention_mask"]
        del graph.input[:]
        graph.input.extend(ordered)
    kv_outputs = [helper.make_tensor_value_info(present_name(l, kv), onnx.TensorProto.FLOAT,
                                                [present_dims[2], heads, present_dims[4], head_dim])
                  for l in range(layers) for kv in range(2)]
    kept = [o for o in graph.output if o.name != PACKED_PRESENT]
    del graph.output[:]
    graph.output.extend(kept + kv_outputs)
    del graph.value_info[:]  # shapes of renamed intermediates; ONNX Runtime infers them again
    onnx.checker.check_model(model, full_check=True)
    return True


def convert_file(path: str) -> bool:
    model = onnx.load(path)
    if not split_kv_io(model):
        return False
    onnx.save(model, path)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", help="a model package directory with prefill.onnx and decode.onnx")
    args = ap.parse_args(argv)
    for graph in ("prefill.onnx", "decode.onnx"):
        path = os.path.join(args.package, graph)
        print(f"{path}: {'per-layer KV I/O written' if convert_file(path) else 'already per-layer, unchanged'}")
    manifest = os.path.join(args.package, "model.json")
    with open(manifest) as f:
        text = f.read()
    packed = f'"format": "{FORMAT_PACKED}"'
    if packed in text:
        with open(manifest, "w") as f:
            f.write(text.replace(packed, f'"format": "{FORMAT}"', 1))
        print(f"{manifest}: format {FORMAT}")


if __name__ == "__main__":
    sys.exit(main())
