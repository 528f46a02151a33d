"""Reference outputs from onnxruntime for every ONNX fixture.

For each ``FIXTURES/*.onnx`` writes ``OUT/<stem>.npz`` holding ``in_<name>`` and
``out_<name>`` arrays: onnxruntime's outputs on fixed inputs (the first 16 digits
test images for 8x8 digit models, seeded uniform noise otherwise). Symbolic dims
are bound to the batch size used.
"""

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
        print(f"{path.name}: {', '.join(f'{k}{list(v.shape)}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main()
