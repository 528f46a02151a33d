"""The pruning benchmark's pare side: `pare compile --prune ...`, `pare inspect --json`,
`pare run`, and the figures read back from pare's JSON report.

The CLI it drives (issue 13):
  pare compile MODEL.onnx --quantize none|int8 --prune structured:R[:l1|l2|act|recon]
      [--prune-refit] [--prune-keep NAME,...] [--prune-multiple M] [--calib DATA]
      -o OUT.onnx --report R.json
  pare compile ... --prune unstructured:R | --prune 2:4 (with --quantize int8)
The report carries prune.totals {params_before, params_after, macs_before, macs_after,
bytes_before, bytes_after} and prune.layers. A pare without --prune is detected up front
(`pare compile --help`) and every pare row then says so instead of failing one by one.
"""

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass

# A compile of these small models takes seconds; MobileNetV2 with calibration, under a minute.
# Past this, a hang is reported as the row's error instead of stalling the benchmark.
TIMEOUT_S = 900


@dataclass
class Compiled:
    """One `pare compile`: the artifact and report, or why there is none."""

    cmd: list
    out: str | None = None
    report: dict | None = None
    error: str | None = None


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def missing_prune_support(pare):
    """None when `pare compile` lists --prune, else the sentence every pare row prints."""
    r = subprocess.run([pare, "compile", "--help"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return f"`{pare} compile --help` failed (exit {r.returncode}): {last_line(r.stderr)}"
    if "--prune" not in r.stdout:
        return (f"{pare} has no `compile --prune` (its `compile --help` lists none): "
                "build a pare with issue 13's pruning")
    return None


def compile_model(pare, model, out, *, quantize, prune=None, refit=False, keep=(), multiple=None,
                  calib=None, target=None, extra=()):
    """`pare compile`; the report is read back from --report (for rp2040, OUT/report.json)."""
    report = os.path.join(os.path.dirname(out), os.path.basename(out) + ".report.json")
    cmd = [pare, "compile", model, "--quantize", quantize, "-o", out, "--report", report]
    if prune:
        cmd += ["--prune", prune]
    if refit:
        cmd += ["--prune-refit"]
    if keep:
        cmd += ["--prune-keep", ",".join(keep)]
    if multiple:
        cmd += ["--prune-multiple", str(multiple)]
    if calib:
        cmd += ["--calib", calib]
    if target:
        cmd += ["--target", target]
    cmd += list(extra)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Compiled(cmd, error=f"no result after {TIMEOUT_S} s (killed)")
    if r.returncode != 0:
        return Compiled(cmd, error=f"exit {r.returncode}: {last_line(r.stderr or r.stdout)}")
    if not os.path.exists(report):
        return Compiled(cmd, error=f"pare exited 0 but wrote no report at {report}")
    with open(report) as f:
        return Compiled(cmd, out=out, report=json.load(f))


def inspect(pare, model):
    """`pare inspect --json`: params, macs, weight_bytes as pare counts them."""
    r = subprocess.run([pare, "inspect", model, "--json"], capture_output=True, text=True, timeout=TIMEOUT_S)
    if r.returncode != 0:
        raise RuntimeError(f"pare inspect {model}: exit {r.returncode}: {last_line(r.stderr)}")
    return json.loads(r.stdout)


def eval_accuracy(pare, model, data):
    """`pare eval --json` on digits.npz's test split: accuracy by pare's own interpreter
    (integer kernels for int8)."""
    cmd = [pare, "eval", model, "--data", data, "--x", "x_test", "--y", "y_test", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if r.returncode != 0:
        raise RuntimeError(f"pare eval {model}: exit {r.returncode}: {last_line(r.stderr)}")
    return json.loads(r.stdout)["accuracy"]


def run_outputs(pare, model, inputs):
    """`pare run` on named inputs (dict name -> array); the outputs in the model's order."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        feed = os.path.join(tmp, "inputs.npz")
        np.savez(feed, **inputs)
        outdir = os.path.join(tmp, "out")
        r = subprocess.run([pare, "run", model, "--inputs", feed, "-o", outdir], capture_output=True, text=True,
                           timeout=TIMEOUT_S)
        if r.returncode != 0:
            raise RuntimeError(f"pare run {model}: exit {r.returncode}: {last_line(r.stderr)}")
        names = [o["name"] for o in inspect(pare, model)["outputs"]]
        return [np.load(os.path.join(outdir, f"{n}.npy")) for n in names]


def prune_totals(report):
    """prune.totals from a compile report, or an error naming what is missing."""
    prune = report.get("prune")
    if not isinstance(prune, dict) or not isinstance(prune.get("totals"), dict):
        raise KeyError("the report has no prune.totals")
    totals = prune["totals"]
    want = ["params_before", "params_after", "macs_before", "macs_after", "bytes_before", "bytes_after"]
    missing = [k for k in want if k not in totals]
    if missing:
        raise KeyError(f"prune.totals lacks {', '.join(missing)}")
    return {k: figure(totals[k]) for k in want}


def figure(v):
    """pare's reports give a figure either bare or as {value, how}."""
    return v["value"] if isinstance(v, dict) and "value" in v else v


def artifact_bytes(report):
    return figure(report.get("artifact_bytes"))


def rp2040_flash(report):
    """Flash of the cross-built firmware image (arm-none-eabi-size), bytes."""
    fw = (report.get("rp2040") or {}).get("firmware") or {}
    return figure(fw.get("flash_bytes")), figure(fw.get("flash_weight_bytes"))


def layer_channels(report, limit=8):
    """What prune.layers says was cut, as `name before->after`: rows per layer (node, name or
    layer; channels_before/channels_after) or per dependency group (layers [names];
    classes_before/classes_after, a class being a channel or a whole head). "" otherwise."""
    rows = ((report.get("prune") or {}).get("layers")) or []
    parts = []
    for r in rows:
        if not isinstance(r, dict):
            continue
        name = next((r[k] for k in ("node", "name", "layer") if k in r), None)
        before, after = figure(r.get("channels_before")), figure(r.get("channels_after"))
        if isinstance(r.get("layers"), list) and "classes_before" in r:
            name = "+".join(map(str, r["layers"]))
            before, after = figure(r.get("classes_before")), figure(r.get("classes_after"))
        if name is not None and isinstance(before, int) and isinstance(after, int) and after != before:
            parts.append(f"{name} {before}->{after}")
    more = f", +{len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more
