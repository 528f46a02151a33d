"""Writes the quickstart's inputs from the fixture digits.npz:
digits.npy, the first four test images (expected labels: labels.txt), which the
quickstart runs micro_cnn on; and data.npz, the calibration set (`x_calib`: the first 256
training images) and the held-out test split (`x_test`, `y_test`: 500 images and labels)
the quickstart compiles micro_cnn to RP2040 C with and measures it on."""

import pathlib
import sys

import numpy as np

fixtures = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures")
d = np.load(fixtures / "digits.npz")
here = pathlib.Path(__file__).parent
np.save(here / "digits.npy", d["x_test"][:4].astype(np.float32))
np.savez_compressed(
    here / "data.npz",
    x_calib=d["x_train"][:256].astype(np.float32),
    x_test=d["x_test"].astype(np.float32),
    y_test=d["y_test"].astype(np.int64),
)
(here / "labels.txt").write_text(" ".join(str(int(y)) for y in d["y_test"][:4]) + "\n")
