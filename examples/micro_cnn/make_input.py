"""Writes digits.npy: the first four test images of the digits split (the fixture
digits.npz), the input the quickstart runs micro_cnn on. Expected labels: labels.txt."""

import pathlib
import sys

import numpy as np

fixtures = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures")
d = np.load(fixtures / "digits.npz")
here = pathlib.Path(__file__).parent
np.save(here / "digits.npy", d["x_test"][:4].astype(np.float32))
(here / "labels.txt").write_text(" ".join(str(int(y)) for y in d["y_test"][:4]) + "\n")
