"""TensorRT-ready ONNX benchmark (issue 15): pare's `--target tensorrt --quantize int8` against
NVIDIA ModelOpt's ONNX int8 PTQ on the same models and calibration data, in one run.

usage: .venv/bin/python tests/oracle/bench_tensorrt.py PARE_BINARY [--fixtures DIR] [--work DIR]
       (first: bash tests/oracle/setup_modelopt_bench.sh, which makes tests/oracle/.venv-modelopt)

For each model both tools quantize the float ONNX on the same calibration array (an .npy file
written here); then, measured in this run on the files they wrote:
* accuracy on the 500 test digits (digits CNN, transformer), reconstruction MSE (VAE), or SQNR of
  the outputs against the float model's on held-out inputs (MobileNetV2, random-init: no labels),
  all by onnxruntime's CPU provider running each file with graph optimizations off (the Q/DQ
  arithmetic as written); the last column is pare's file under onnxruntime's default
  optimizations (its own int8 kernels);
* `pare check --target tensorrt` on each file: the TensorRT rules each one breaks;
* file bytes and each tool's wall time (one run each: noisy, for scale only).
No GPU or TensorRT here: engine latency is not measured (the `device` tool lends one to some
tasks only; say so in the note).

Target (exit 1 when missed): pare's accuracy / SQNR >= ModelOpt's (MSE <=), and pare's files break
no rule.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELOPT_PY = os.path.join(HERE, ".venv-modelopt", "bin", "python")


def run(cmd, timeout=1800):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(cmd)}:\n{tail}")
    return p.stdout, time.monotonic() - t


def outputs(model, x, batch=64, optimize=False):
    """`model`'s first output on `x` by onnxruntime's CPU provider. By default with graph
    optimizations off: the Q/DQ arithmetic exactly as the file writes it (what a TensorRT
    engine computes from it), not onnxruntime's own int8 kernel substitutions, whose fixed-point
    requantization breaks down on the random-init MobileNetV2's tiny activations (~1e-9)."""
    so = ort.SessionOptions()
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    dtype = np.float16 if "float16" in i.type else np.float32
    if isinstance(i.shape[0], int):
        batch = i.shape[0]  # a fixed batch dim (MobileNetV2's is 1)
    outs = []
    for k in range(0, len(x), batch):
        outs.append(s.run(None, {i.name: x[k:k + batch].astype(dtype)})[0].astype(np.float32))
    return np.concatenate(outs)


def sqnr_db(ref, got):
    noise = np.sum((ref - got) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(ref ** 2) / noise))


def broken_rules(pare, model):
    p = subprocess.run([pare, "check", model, "--target", "tensorrt", "--json"], capture_output=True, text=True)
    r = json.loads(p.stdout)
    return [x["rule"] for x in r["rules"] if not x["passed"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pare")
    ap.add_argument("--fixtures", default=os.path.join(REPO, "..", "shared", "fixtures"))
    ap.add_argument("--work", default=os.path.join(REPO, "target", "bench-tensorrt"))
    a = ap.parse_args()
    if not os.path.exists(MODELOPT_PY):
        sys.exit(f"{MODELOPT_PY} is missing: run bash tests/oracle/setup_modelopt_bench.sh first")
    os.makedirs(a.work, exist_ok=True)
    d = np.load(os.path.join(a.fixtures, "digits.npz"))
    digits_calib = os.path.join(a.work, "digits_calib.npy")
    np.save(digits_calib, d["x_train"][:256].astype(np.float32))
    rng = np.random.default_rng(0)
    mb_calib = os.path.join(a.work, "mobilenet_calib.npy")
    np.save(mb_calib, rng.standard_normal((32, 3, 224, 224)).astype(np.float32))
    mb_test = rng.standard_normal((32, 3, 224, 224)).astype(np.float32)

    cases = [
        ("digits_cnn", digits_calib, "accuracy"),
        ("digits_transformer", digits_calib, "accuracy"),
        ("digits_vae", digits_calib, "mse"),
        ("mobilenet_v2", mb_calib, "sqnr"),
    ]
    print(f"{'model':<20} {'metric':<9} {'float':>8} {'pare':>8} {'ModelOpt':>9} {'pare B':>10} {'MO B':>10} "
          f"{'pare s':>7} {'MO s':>6} {'pare ort-opt':>12}  rules broken (pare / ModelOpt)")
    misses = []
    for name, calib, metric in cases:
        # ModelOpt rewrites the model it is given in place (shape inference, opset) and
        # leaves intermediates beside it: it gets its own copy, never the shared fixture.
        src = os.path.join(a.fixtures, f"{name}.onnx")
        mo_src = os.path.join(a.work, f"{name}.for_modelopt.onnx")
        shutil.copyfile(src, mo_src)
        ours = os.path.join(a.work, f"{name}.pare.onnx")
        theirs = os.path.join(a.work, f"{name}.modelopt.onnx")
        _, t_pare = run([a.pare, "compile", src, "--target", "tensorrt", "--quantize", "int8", "--calib", calib,
                         "--min-fidelity", "none", "-o", ours, "--json"])
        _, t_mo = run([MODELOPT_PY, "-W", "ignore", "-m", "modelopt.onnx.quantization", f"--onnx_path={mo_src}",
                       "--quantize_mode=int8", f"--calibration_data_path={calib}", "--calibration_eps", "cpu",
                       "--high_precision_dtype=fp32", f"--output_path={theirs}", "--log_level=ERROR"])
        if metric == "sqnr":
            ref = outputs(src, mb_test)
            score = lambda m, opt=False: sqnr_db(ref, outputs(m, mb_test, optimize=opt))
        elif metric == "accuracy":
            x, y = d["x_test"].astype(np.float32), d["y_test"]
            score = lambda m, opt=False: float((outputs(m, x, optimize=opt).argmax(-1) == y).mean())
        else:
            x = d["x_test"].astype(np.float32)
            score = lambda m, opt=False: float(((outputs(m, x, optimize=opt) - x.reshape(-1, 1, 8, 8)) ** 2).mean())
        f_v = float("inf") if metric == "sqnr" else score(src)
        p_v, m_v, p_opt = score(ours), score(theirs), score(ours, True)
        rb_p, rb_m = broken_rules(a.pare, ours), broken_rules(a.pare, theirs)
        print(f"{name:<20} {metric:<9} {f_v:>8.4f} {p_v:>8.4f} {m_v:>9.4f} {os.path.getsize(ours):>10,} "
              f"{os.path.getsize(theirs):>10,} {t_pare:>7.1f} {t_mo:>6.1f} {p_opt:>12.4f}  {rb_p or 'none'} / {rb_m or 'none'}")
        better = p_v <= m_v + 1e-9 if metric == "mse" else p_v >= m_v - 1e-9
        if not better:
            misses.append(f"{name}: pare {metric} {p_v:.4f} vs ModelOpt {m_v:.4f}")
        if rb_p:
            misses.append(f"{name}: pare's file breaks {rb_p}")
    print("engine latency: not measured (no GPU or TensorRT on this machine)")
    for m in misses:
        print(f"target missed: {m}")
    if not misses:
        print("all targets met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
