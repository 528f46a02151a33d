"""Times onnxruntime (CPU, one thread, default graph optimizations) on a model with
the inputs from a reference .npz (see gen_fixture_refs.py). Prints the median
seconds per run as a bare number."""

import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def main() -> None:
    model, refs, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    data = np.load(refs)
    feeds = {i.name: data[f"in_{i.name}"] for i in sess.get_inputs()}
    sess.run(None, feeds)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
