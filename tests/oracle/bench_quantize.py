"""pare's post-training quantization against onnxruntime's quantize_static, in one run.

usage: bench_quantize.py PARE_BINARY FIXTURES_DIR WORK_DIR

For each model: the float model, pare's int8 QDQ ONNX (`pare compile --quantize int8`)
and ORT's quantize_static QDQ ONNX (per-channel int8 weights, int8 activations), both
calibrated on the same digits train split. Accuracy / MSE come from `pare eval`
(pare's artifact runs in pare's integer interpreter) and from onnxruntime (both
artifacts); sizes are the files on disk. Then: digits CNN with --quantize mixed
under 18 % of the float file, MobileNetV2 SQNR against float on random inputs,
and calibration time and peak RSS for MobileNetV2 at two sample counts. Every
number printed is measured in this run.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args):
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, args))}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def ort_run(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name, batch = s.get_inputs()[0].name, s.get_inputs()[0].shape[0]
    if isinstance(batch, int):  # a fixed batch: run in chunks of it
        return np.concatenate([s.run(None, {name: x[i : i + batch]})[0] for i in range(0, len(x), batch)])
    return s.run(None, {name: x})[0]


def sqnr(ref, out):
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - out) ** 2))


def main() -> int:
    pare, fx, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    digits = os.path.join(fx, "digits.npz")
    d = np.load(digits)
    x_test, y_test = d["x_test"], d["y_test"]
    rows = []
    for name, kind in [
        ("digits_cnn", "class"),
        ("digits_transformer", "class"),
        ("micro_cnn", "class"),
        ("digits_vae", "recon"),
    ]:
        model = os.path.join(fx, f"{name}.onnx")
        ours = os.path.join(work, f"{name}.pare_int8.onnx")
        ours_pir = os.path.join(work, f"{name}.pare_int8.pir")
        theirs = os.path.join(work, f"{name}.ort_int8.onnx")
        report = os.path.join(work, f"{name}.report.json")
        # The same quantization twice (compiles are deterministic): QDQ ONNX for
        # onnxruntime, textual IR for pare's integer interpreter.
        for out in (ours, ours_pir):
            sh(pare, "compile", model, "--quantize", "int8", "--calib", f"{digits}:x_train",
               "-o", out, "--report", report)
        sh(sys.executable, os.path.join(HERE, "ort_quantize.py"), model, digits, "x_train", 1297, theirs)
        y = ["--y", "y_test"] if kind == "class" else ["--y", "x_test"]
        key = "accuracy" if kind == "class" else "mse"

        def pare_eval(m):
            return json.loads(sh(pare, "eval", m, "--data", digits, "--x", "x_test", *y, "--json"))[key]

        def ort_metric(m):
            out = ort_run(m, x_test)
            if kind == "class":
                return float((out.argmax(1) == y_test).mean())
            return float(np.mean((out - x_test) ** 2))

        f_metric = pare_eval(model)
        ours_pare = pare_eval(ours_pir)
        ours_ort = ort_metric(ours)
        theirs_ort = ort_metric(theirs)
        agree = None
        if kind == "class":
            # pare's integer interpreter vs onnxruntime on pare's own QDQ file:
            s = ort.InferenceSession(ours, providers=["CPUExecutionProvider"])
            ort_pred = s.run(None, {s.get_inputs()[0].name: x_test})[0].argmax(1)
            pare_logits = run_pare(pare, ours_pir, x_test, work)
            agree = float((pare_logits.argmax(1) == ort_pred).mean())
        rows.append((name, key, f_metric, ours_pare, ours_ort, theirs_ort,
                     os.path.getsize(model), os.path.getsize(ours), os.path.getsize(theirs), agree))

    print(f"{'model':<20}{'metric':<9}{'float':>9}{'pare(int)':>11}{'pare(ORT)':>11}{'ORT q_s':>9}"
          f"{'float B':>9}{'pare B':>8}{'ORT B':>8}{'pare/float':>11}{'pare/ORT':>9}{'int~ORT top1':>13}")
    for (n, k, f, op, oo, to, fb, pb, tb, ag) in rows:
        print(f"{n:<20}{k:<9}{f:>9.4f}{op:>11.4f}{oo:>11.4f}{to:>9.4f}{fb:>9}{pb:>8}{tb:>8}"
              f"{pb / fb:>11.3f}{pb / tb:>9.3f}{'' if ag is None else f'{ag:.4f}':>13}")

    # Mixed precision under 18 % of the float digits CNN file.
    model = os.path.join(fx, "digits_cnn.onnx")
    budget = int(0.18 * os.path.getsize(model))
    mixed = os.path.join(work, "digits_cnn.pare_mixed.onnx")
    sh(pare, "compile", model, "--quantize", "mixed", "--size-budget", budget,
       "--calib", f"{digits}:x_train", "-o", mixed)
    acc = json.loads(sh(pare, "eval", mixed, "--data", digits, "--x", "x_test", "--y", "y_test", "--json"))["accuracy"]
    print(f"\nmixed digits_cnn: budget {budget} B, artifact {os.path.getsize(mixed)} B, accuracy {acc:.4f}")

    # MobileNetV2: SQNR vs float on random inputs, calibration time / memory.
    mv2 = os.path.join(fx, "mobilenet_v2.onnx")
    rng = np.random.default_rng(0)
    calib = os.path.join(work, "mv2_calib.npz")
    np.savez(calib, x=rng.random((128, 3, 224, 224), dtype=np.float32))
    evalx = os.path.join(work, "mv2_eval.npz")
    xe = rng.random((16, 3, 224, 224), dtype=np.float32)
    np.savez(evalx, x=xe)
    ours = os.path.join(work, "mv2.pare_int8.onnx")
    ours_pir = os.path.join(work, "mv2.pare_int8.pir")
    theirs = os.path.join(work, "mv2.ort_int8.onnx")
    stats = {}
    for n in (32, 128):
        rep = os.path.join(work, f"mv2_{n}.json")
        t = time.perf_counter()
        sh(pare, "compile", mv2, "--quantize", "int8", "--calib", f"{calib}:x", "--calib-samples", n,
           "-o", ours, "--report", rep)
        wall = time.perf_counter() - t
        r = json.load(open(rep))
        stats[n] = (wall, r["calibration"]["seconds"]["value"], r["peak_rss_bytes"]["value"])
    sh(pare, "compile", mv2, "--quantize", "int8", "--calib", f"{calib}:x", "--calib-samples", 128, "-o", ours_pir)
    sh(sys.executable, os.path.join(HERE, "ort_quantize.py"), mv2, calib, "x", 128, theirs)
    ref = ort_run(mv2, xe)
    pare_sqnr = json.loads(sh(pare, "eval", ours_pir, "--data", evalx, "--x", "x", "--reference", mv2, "--json"))["sqnr_db"]
    print(f"\nMobileNetV2 (random init, 16 random inputs) SQNR vs float: "
          f"pare int8 {pare_sqnr:.2f} dB (pare integer interpreter), "
          f"pare int8 {sqnr(ref, ort_run(ours, xe)):.2f} dB (onnxruntime), "
          f"ORT quantize_static {sqnr(ref, ort_run(theirs, xe)):.2f} dB; "
          f"sizes pare {os.path.getsize(ours)} B, ORT {os.path.getsize(theirs)} B, float {os.path.getsize(mv2)} B")
    for n, (wall, cal, rss) in stats.items():
        print(f"MobileNetV2 calibration, {n} samples: {cal:.1f} s calibrating ({wall:.1f} s whole compile), "
              f"peak RSS {rss / 2**20:.0f} MiB")
    print(f"peak RSS ratio 128 / 32 samples: {stats[128][2] / stats[32][2]:.3f}")
    return 0


def run_pare(pare, model, x, work):
    """Outputs of `pare run` (integer interpreter for quantized models) on x."""
    inp = os.path.join(work, "run_in.npy")
    np.save(inp, x)
    out = os.path.join(work, "run_out")
    sh(pare, "run", model, "--input", inp, "-o", out)
    files = sorted(f for f in os.listdir(out) if f.endswith(".npy"))
    return np.load(os.path.join(out, files[0]))


if __name__ == "__main__":
    sys.exit(main())
