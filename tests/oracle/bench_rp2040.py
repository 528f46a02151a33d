"""pare's RP2040 target on the fixtures, in one run: what the issue's targets ask.

usage: bench_rp2040.py PARE_BINARY FIXTURES_DIR WORK_DIR

For the digits CNN and the micro CNN (int8): accuracy of the float model and of the
quantized graph (pare's integer interpreter, whose outputs the generated C reproduces bit
for bit: targets/tests/rp2040_fixtures.rs checks all 500 test digits on the host with gcc
and clang, targets/tests/rp2040_qemu.rs 20 under QEMU), then `pare compile --target rp2040
--device rp2040`: flash (code and weights, measured with arm-none-eabi-size on the
cross-built image), arena, its lower bound and TFLite Micro's naive sum of activations
(planned), and instructions per inference and per MAC on QEMU's Cortex-M0 (emulated).

For MobileNetV3-small at 96x96 (random init: agreement and SQNR against float, never
accuracy): plain int8 must fail to fit the RP2040's flash, naming the overflow; mixed
int4/int8 under a 2,000,000-byte budget must fit, and its figures are printed the same way.

The peers' figures (onnx2c's float C for the digits CNN, TFLite Micro's person detection)
cannot be produced on this machine; they are printed as quoted by the issue, marked so,
with pare's ratio to them. Every other number is measured in this run.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Quoted by the issue (same QEMU setup), not measured here.
ONNX2C_DIGITS = {"instructions_per_mac": 158.0, "flash_bytes": 159.6e3, "ram_bytes": 20e3}
TFLM_CYCLES_PER_MAC = 14.0


def run(*args, ok=True):
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True)
    if ok and r.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, args))}\n{r.stdout}\n{r.stderr}")
    return r


def value(x):
    return x["value"] if isinstance(x, dict) else x


def accuracy(pare, model, digits, extra=()):
    out = run(pare, "eval", model, "--data", digits, "--x", "x_test", "--y", "y_test", "--json", *extra)
    return json.loads(out.stdout)["accuracy"]


def compile_rp2040(pare, model, out, args):
    report = out + ".json"
    run(pare, "compile", model, "--target", "rp2040", "--device", "rp2040", "-o", out,
        "--report", report, *args)
    with open(report) as f:
        return json.load(f)


def figures(r):
    rp = r["rp2040"]
    fw = rp["firmware"]
    return {
        "flash": value(fw["flash_bytes"]),
        "code": value(fw["flash_code_bytes"]),
        "weights": value(fw["flash_weight_bytes"]),
        "ram": value(fw["ram_bytes"]),
        "arena": value(rp["arena_bytes"]),
        "lower_bound": value(rp["arena_lower_bound"]),
        "naive": value(rp["naive_arena_bytes"]),
        "instructions": value(fw["instructions_per_inference"]),
        "per_mac": value(fw["instructions_per_mac"]),
    }


def show(name, f):
    print(f"{name}: flash {f['flash']} B (code {f['code']}, weights {f['weights']}) [measured], "
          f"RAM {f['ram']} B [measured + stack reserve]")
    print(f"{name}: arena {f['arena']} B = lower bound {f['lower_bound']} B: {f['arena'] == f['lower_bound']}; "
          f"TFLite-Micro-style naive sum {f['naive']} B ({f['naive'] / f['arena']:.2f}x) [planned]")
    print(f"{name}: {f['instructions']} instructions per inference, {f['per_mac']:.2f} per MAC [emulated, QEMU Cortex-M0]")


def main() -> int:
    pare, fx, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    digits = os.path.join(fx, "digits.npz")
    calib = f"{digits}:x_train"
    failures = []

    for name, slack in [("digits_cnn", 0.003), ("micro_cnn", 0.01)]:
        model = os.path.join(fx, f"{name}.onnx")
        q = os.path.join(work, f"{name}_int8.pir")
        run(pare, "compile", model, "--quantize", "int8", "--calib", calib, "--target", "pir", "-o", q)
        acc_f, acc_q = accuracy(pare, model, digits), accuracy(pare, q, digits)
        f = figures(compile_rp2040(pare, model, os.path.join(work, name), ["--quantize", "int8", "--calib", calib]))
        print(f"\n{name}: accuracy float {acc_f:.4f}, int8 {acc_q:.4f} (drop {100 * (acc_f - acc_q):.2f} pt, "
              f"target <= {100 * slack:.1f} pt) [measured on the 500 test digits]")
        show(name, f)
        if acc_f - acc_q > slack:
            failures.append(f"{name}: accuracy drop {acc_f - acc_q:.4f} > {slack}")
        if f["arena"] != f["lower_bound"]:
            failures.append(f"{name}: arena {f['arena']} != lower bound {f['lower_bound']}")
        if name == "digits_cnn":
            if f["per_mac"] > 7.0:
                failures.append(f"digits_cnn: {f['per_mac']} instructions per MAC > 7")
            if f["code"] > 8192:
                failures.append(f"digits_cnn: code {f['code']} B > 8 KiB")
            print("digits_cnn vs onnx2c's float C (quoted by the issue, not measured here): "
                  f"instructions/MAC {ONNX2C_DIGITS['instructions_per_mac'] / f['per_mac']:.1f}x fewer, "
                  f"flash {ONNX2C_DIGITS['flash_bytes'] / f['flash']:.1f}x smaller, "
                  f"RAM {ONNX2C_DIGITS['ram_bytes'] / f['ram']:.1f}x smaller")

    mnv3 = os.path.join(fx, "mobilenet_v3_small.onnx")
    images = os.path.join(work, "images.npy")
    run(sys.executable, os.path.join(HERE, "make_image_calib.py"), digits, images, 8, 96)
    shape = ["--input-shape", "input=1,3,96,96", "--calib", images]
    r = run(pare, "compile", mnv3, "--target", "rp2040", "--device", "rp2040", "--quantize", "int8",
            *shape, "-o", os.path.join(work, "mnv3_int8"), ok=False)
    message = (r.stderr.strip().splitlines() or [""])[-1]
    print(f"\nMobileNetV3-small 96x96 int8: exit {r.returncode}: {message}")
    if r.returncode == 0 or os.path.exists(os.path.join(work, "mnv3_int8")):
        failures.append("MobileNetV3-small int8 should not fit the RP2040 and leave nothing")
    rep = compile_rp2040(pare, mnv3, os.path.join(work, "mnv3_mixed"),
                         ["--quantize", "mixed", "--size-budget", "2000000", "--calib-samples", "8",
                          "--sensitivity-samples", "2", *shape])
    f = figures(rep)
    bits = [layer.get("weight_bits") for layer in rep.get("layers", []) if layer.get("weight_bits")]
    print(f"MobileNetV3-small 96x96 mixed: {bits.count(4)} layers with 4-bit weights, {bits.count(8)} with 8-bit")
    fid = rep.get("fidelity", {})
    if fid:
        print(f"MobileNetV3-small 96x96 mixed vs float on {fid.get('samples')} calibration images: "
              f"SQNR {value(fid['sqnr_db']):.1f} dB, top-1 agreement {value(fid['agreement']):.3f} [measured, integer interpreter]")
    show("MobileNetV3-small 96x96 mixed", f)
    if f["per_mac"] > 7.0:
        failures.append(f"MobileNetV3-small: {f['per_mac']} instructions per MAC > 7")
    if f["arena"] != f["lower_bound"]:
        failures.append(f"MobileNetV3-small: arena {f['arena']} != lower bound {f['lower_bound']}")
    print(f"MobileNetV3-small vs TFLite Micro person detection on the RP2040 (~{TFLM_CYCLES_PER_MAC:.0f} cycles/MAC, "
          f"quoted by the issue, not measured here): {TFLM_CYCLES_PER_MAC / f['per_mac']:.2f}x "
          "(pare's figure is emulated instructions; the M0+ runs most in one cycle, loads in two)")

    if failures:
        print("\nTARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
