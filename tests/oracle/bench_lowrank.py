"""Low-rank benchmark (issue 14): a size/accuracy curve of pare's `--lowrank`, data-aware
against plain SVD side by side, on the digits CNN's fc1 [512, 64], on the digits
transformer's projections and on the digits CNN's 3x3 convs c2 and c3 (Tucker-2 against
spatial separation), in one run.

usage: python3 tests/oracle/bench_lowrank.py PARE_BINARY [--fixtures DIR] [--work DIR]

Every row is one `pare compile --quantize none --lowrank size:S|error:E[:plain]` (the float model
factorized; the classifier kept), measured in this run: accuracy by `pare eval` on the 500
test digits, the factorized layers' params before and after and their output error on the
calibration inputs from the compile report (`lowrank.layers`), and the model's params by
`pare inspect`. The target checked (fc1 and the transformer): at <= 1 pt below the float
model, the factorized layers are >= 2x smaller (the best data-aware row per model). Exit 1
when it is missed. The conv rows give the method each layer got (T: Tucker-2 ranks in/out,
S: spatial rank) and are not held to a target.
"""

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

MODELS = [
    # (fixture, layers kept whole, --lowrank criteria: a size fraction or an output-error
    # budget, optionally forcing the conv method; held to the 2x target)
    ("digits_cnn.onnx", "/fc2/Gemm,/c1/Conv,/c2/Conv,/c3/Conv,/pw/Conv",
     ["size:0.5", "size:0.25", "size:0.125", "size:0.0625", "size:0.03"], True),
    # The token embedding (Gemm_2, [8, 32]) is too small to gain; the projections are.
    ("digits_transformer.onnx", "/head/Gemm,Gemm_2",
     ["size:0.75", "size:0.5", "size:0.35", "error:0.001", "error:0.002", "error:0.005"], True),
    # The 3x3 convs c2 and c3 [16, 16, 3, 3] (c1 has one input channel: too small to gain).
    ("digits_cnn.onnx", "/fc1/Gemm,/fc2/Gemm,/c1/Conv",
     ["size:0.5:tucker", "size:0.5:spatial", "size:0.35:tucker", "size:0.35:spatial", "error:0.05"], False),
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
    return p.stdout


def accuracy(pare, model, data):
    out = json.loads(run([pare, "eval", model, "--data", data, "--x", "x_test", "--y", "y_test", "--json"]))
    return out["accuracy"]


def layer_figures(notes):
    """Sum of params before/after and the worst output error over factorized layers."""
    before = after = 0
    worst = 0.0
    for n in notes:
        m = re.search(r"params (\d+) -> (\d+)", n)
        if not m or "skipped" in n:
            continue
        before += int(m.group(1))
        after += int(m.group(2))
        errs = re.findall(r"output error on calib[^,;]*?([0-9.]+e[-+][0-9]+)(?:, data-aware ([0-9.]+e[-+][0-9]+))?", n)
        for e in errs:
            vals = [float(x) for x in e if x]
            worst = max(worst, vals[-1])
    return before, after, worst


def methods(notes):
    """The conv method each factorized layer got: T(in,out) for Tucker-2, S(r) for spatial."""
    out = []
    for n in notes:
        m = re.search(r"-> Tucker-2 ranks \(in (\d+), out (\d+)\)", n)
        if m:
            out.append(f"T({m.group(1)},{m.group(2)})")
        m = re.search(r"-> spatial rank (\d+)", n)
        if m:
            out.append(f"S({m.group(1)})")
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pare")
    ap.add_argument("--fixtures", default=os.path.join(REPO, "..", "shared", "fixtures"))
    ap.add_argument("--work", default=os.path.join(REPO, "target", "bench-lowrank"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.fixtures, "digits.npz")
    misses = []
    for fixture, keep, sizes, held in MODELS:
        src = os.path.join(a.fixtures, fixture)
        base = accuracy(a.pare, src, data)
        print(f"\n{fixture}: float accuracy {base:.3f} (pare eval, 500 test digits); kept whole: {keep}")
        print(f"{'rank by':>17} {'variant':<10} {'accuracy':>8} {'drop pt':>7} {'layer params':>18} {'smaller':>7} {'max out err':>11}  conv method")
        best = None
        for s in sizes:
            for variant in ["data", "plain"]:
                spec = s + (":plain" if variant == "plain" else "")
                out = os.path.join(a.work, f"{fixture[:-5]}_{keep.count(',')}_{s.replace(':', '_')}_{variant}.onnx")
                rep = json.loads(run([a.pare, "compile", src, "--quantize", "none", "--calib", f"{data}:x_train",
                                      "--lowrank", spec, "--lowrank-keep", keep, "-o", out, "--json"]))
                acc = accuracy(a.pare, out, data)
                before, after, worst = layer_figures(rep["lowrank"]["layers"])
                ratio = before / after if after else float("nan")
                print(f"{s:>17} {variant:<10} {acc:>8.3f} {(base - acc) * 100:>+7.1f} {before:>8,} -> {after:>6,} {f'{ratio:.2f}x' if after else '-':>7} {worst:>11.2e}  {methods(rep['lowrank']['layers'])}")
                if variant == "data" and base - acc <= 0.01 + 1e-9 and after and (best is None or ratio > best[0]):
                    best = (ratio, s, acc)
        if not held:
            continue
        if best is None or best[0] < 2.0:
            misses.append(f"{fixture}: no data-aware row within 1 pt is >= 2x smaller (best {best})")
        else:
            print(f"best data-aware within 1 pt: {best[1]}, {best[0]:.2f}x smaller layers, accuracy {best[2]:.3f}")
    for m in misses:
        print(f"target missed: {m}")
    if not misses:
        print("all targets met")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
