"""Reference outputs from onnxruntime and structure from the onnx package, per ONNX fixture.

For each ``FIXTURES/*.onnx`` writes
* ``OUT/<stem>.npz`` holding ``in_<name>`` and ``out_<name>`` arrays: onnxruntime's
  outputs on fixed inputs (the first 16 digits test images for 8x8 digit models,
  seeded uniform noise otherwise). Symbolic dims are bound to the batch size used.
* ``OUT/<stem>.json``: what the ``onnx`` package reads from the file, so the Rust tests
  check pare's import against the file itself rather than against one exporter's
  totals: producer, IR version, default-domain opset, graph inputs/outputs with
  their shapes (dim_param names, ``null`` for unnamed dims), op_type counts without
  ``Constant``, elements of the initializers and ``Constant`` values that nodes or
  outputs use, and elements of ``axes`` attributes per op type.
"""

import collections
import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def inputs_for(model: onnx.ModelProto, digits: np.ndarray) -> dict:
    rng = np.random.default_rng(0)
    feeds = {}
    inits = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        if dims[1:] == [1, 8, 8]:
            feeds[vi.name] = digits[:16]
        else:
            shape = [d if d is not None else 1 for d in dims]
            feeds[vi.name] = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    return feeds


def shape_of(vi: onnx.ValueInfoProto) -> list:
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(d.dim_value)
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def constant_elements(node: onnx.NodeProto) -> int:
    """Elements of the value a ``Constant`` node defines (whichever attribute holds it)."""
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        if attr.name in ("value", "sparse_value"):
            # TensorProto and SparseTensorProto both carry the dense dims.
            return int(np.prod(value.dims))
        if attr.name in ("value_float", "value_int", "value_string"):
            return 1
        if attr.name in ("value_floats", "value_ints", "value_strings"):
            return len(value)
    raise ValueError(f"Constant {node.name!r} holds no value")


def structure(model: onnx.ModelProto) -> dict:
    g = model.graph
    used = {name for n in g.node for name in n.input if name}
    used.update(o.name for o in g.output)
    inits = {t.name for t in g.initializer}
    ops = collections.Counter(n.op_type for n in g.node if n.op_type != "Constant")
    axes = collections.Counter()
    for n in g.node:
        for attr in n.attribute:
            if attr.name == "axes" and attr.type == onnx.AttributeProto.INTS:
                axes[n.op_type] += len(attr.ints)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return {
        "producer_name": model.producer_name,
        "ir_version": model.ir_version,
        "opset": opset[0] if opset else None,
        "inputs": [{"name": i.name, "shape": shape_of(i)} for i in g.input if i.name not in inits],
        "outputs": [{"name": o.name, "shape": shape_of(o)} for o in g.output],
        "op_counts": dict(sorted(ops.items())),
        "initializer_elements": sum(int(np.prod(t.dims)) for t in g.initializer if t.name in used),
        "constant_elements": sum(
            constant_elements(n) for n in g.node if n.op_type == "Constant" and n.output[0] in used
        ),
        "axes_attribute_elements": dict(sorted(axes.items())),
    }


def main() -> None:
    fixtures, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    digits = np.load(fixtures / "digits.npz")["x_test"].astype(np.float32)
    for path in sorted(fixtures.glob("*.onnx")):
        model = onnx.load(str(path))
        feeds = inputs_for(model, digits)
        opts = ort.SessionOptions()
        # Reference semantics, not ORT's fused fast paths.
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
        arrays = {f"in_{k}": v for k, v in feeds.items()}
        arrays.update({f"out_{o.name}": v for o, v in zip(sess.get_outputs(), outs)})
        np.savez(out / f"{path.stem}.npz", **arrays)
        (out / f"{path.stem}.json").write_text(json.dumps(structure(model), indent=1) + "\n")
        print(f"{path.name}: {', '.join(f'{k}{list(v.shape)}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main()
