"""Runs ONNX models pare exported with palette (weight-sharing) weights in
onnxruntime (CPU) on one array of an .npz, with graph optimizations off and on,
and saves output 0 of each run; prints what each file holds (palette index and
codebook initializers with their bytes, decode ops) and fails unless onnx.checker
accepts the file with its full check (type and shape inference included).

usage: ort_palette.py DATA.npz KEY LIMIT OUT_DIR MODEL...
Writes OUT_DIR/<i>_none.npy and OUT_DIR/<i>_all.npy for the i-th model.
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> int:
    data, key, limit, out_dir = sys.argv[1:5]
    x = np.load(data)[key][: int(limit)]
    for i, path in enumerate(sys.argv[5:]):
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ops = sorted({n.op_type for n in m.graph.node})
        idx = [t for t in m.graph.initializer if t.name.endswith(".idx")]
        books = [t for t in m.graph.initializer if t.name.endswith(".cb")]
        idx_types = sorted({onnx.TensorProto.DataType.Name(t.data_type) for t in idx})
        print(
            f"{os.path.basename(path)}: bytes={os.path.getsize(path)} "
            f"indices={len(idx)} ({'/'.join(idx_types)}, {sum(len(t.raw_data) for t in idx)} B) "
            f"codebooks={len(books)} ({sum(len(t.raw_data) for t in books)} B) "
            f"ops={','.join(ops)} checker=full-ok"
        )
        for level, name in [
            (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "none"),
            (ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "all"),
        ]:
            opts = ort.SessionOptions()
            opts.graph_optimization_level = level
            s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            np.save(os.path.join(out_dir, f"{i}_{name}.npy"), s.run(None, {s.get_inputs()[0].name: x})[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
