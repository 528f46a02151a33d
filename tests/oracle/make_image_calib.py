"""Image calibration data for the image fixtures (the random-init MobileNets).

    python tests/oracle/make_image_calib.py DIGITS.npz OUT.npy [N] [SIDE]

Writes f32 [N, 3, SIDE, SIDE] (default N=8, SIDE=96): the first N training digits of
digits.npz (8x8 in [0, 1]) upscaled bilinearly (half-pixel centres, edges clamped, like
torch's interpolate(align_corners=False)), the gray level replicated over 3 channels and
normalized with ImageNet's per-channel mean and std. Deterministic; the same values as the
driver tests' `common::image_calib` (compiler/driver/tests/rp2040_device.rs checks that).
The MobileNets are random-init: use this for agreement/SQNR against float, never accuracy.
"""

import sys

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def taps(side):
    # f32 throughout, in the Rust helper's order: ((i + 0.5) * 8) / side - 0.5.
    i = np.arange(side, dtype=np.float32)
    c = (i + np.float32(0.5)) * np.float32(8.0) / np.float32(side) - np.float32(0.5)
    c = np.clip(c, np.float32(0.0), np.float32(7.0)).astype(np.float32)
    lo = np.floor(c).astype(np.int64)
    hi = np.minimum(lo + 1, 7)
    return lo, hi, (c - lo.astype(np.float32)).astype(np.float32)


def main():
    digits, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    side = int(sys.argv[4]) if len(sys.argv) > 4 else 96
    x = np.load(digits)["x_train"][:n, 0].astype(np.float32)
    if x.shape[0] < n:
        sys.exit(f"{digits}: fewer than {n} samples")
    lo, hi, f = taps(side)
    fy, fx = f[:, None], f[None, :]
    one = np.float32(1.0)
    a, b = x[:, lo][:, :, lo], x[:, lo][:, :, hi]
    c, d = x[:, hi][:, :, lo], x[:, hi][:, :, hi]
    top = a * (one - fx) + b * fx
    bottom = c * (one - fx) + d * fx
    plane = (top * (one - fy) + bottom * fy).astype(np.float32)
    rgb = (plane[:, None] - MEAN[None, :, None, None]) / STD[None, :, None, None]
    np.save(out, rgb.astype(np.float32))


if __name__ == "__main__":
    main()
