"""onnxruntime measurements for the pruning benchmark: the test accuracy of an ONNX artifact
(whichever tool wrote it) and a model's outputs on given inputs."""


def session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the machine is shared; nothing here is a timing
    # Errors only: warnings about an artifact (e.g. unused initializers) would break up the
    # tables; they do not change what runs.
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def accuracy(path, x, y):
    """Top-1 accuracy of output 0 on (x, y), in batches of 100."""
    import numpy as np

    s = session(path)
    name = s.get_inputs()[0].name
    hits = 0
    for i in range(0, len(x), 100):
        hits += int((s.run(None, {name: x[i:i + 100]})[0].argmax(1) == y[i:i + 100]).sum())
    return hits / len(x)


def outputs(path, feeds):
    return session(path).run(None, feeds)

