"""Runs ONNX models pare exported with sparse weights in onnxruntime (CPU) on one
array of an .npz, with graph optimizations off and on, and saves output 0 of each
run; prints what each file holds (sparse initializers, decode nodes, bytes) and
checks that onnx.checker accepts it (fails otherwise).

usage: ort_sparse.py DATA.npz KEY LIMIT OUT_DIR MODEL...
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
        # Every file pare writes must pass the checker (sparse indices are INT64).
        onnx.checker.check_model(m)
        checker = "ok"
        ops = sorted({n.op_type for n in m.graph.node})
        print(
            f"{path}: bytes={os.path.getsize(path)} sparse_initializers={len(m.graph.sparse_initializer)} "
            f"nodes={len(m.graph.node)} ops={','.join(ops)} checker={checker}"
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
