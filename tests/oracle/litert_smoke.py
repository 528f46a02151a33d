"""Loads every .tflite in a folder with LiteRT, with the reference kernels and with the
default (XNNPACK) ones, and runs each once on zeros; prints one line per failure.

usage: litert_smoke.py DIR
Exits 1 if any model fails to load, prepare or run, 2 if the folder holds none.
"""

import sys
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def main() -> int:
    files = sorted(Path(sys.argv[1]).glob("*.tflite"))
    if not files:
        print(f"no .tflite files in {sys.argv[1]}")
        return 2
    failed = 0
    for f in files:
        for resolver in (OpResolverType.BUILTIN_REF, OpResolverType.AUTO):
            try:
                it = Interpreter(model_path=str(f), experimental_op_resolver_type=resolver)
                it.allocate_tensors()
                for d in it.get_input_details():
                    it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
                it.invoke()
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failed += 1
                print(f"FAIL {f.name} ({resolver.name}): {str(e).splitlines()[0]}")
                break
    print(f"{len(files)} models, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
