"""Writes the ONNX backend node tests from the onnx wheel's own generators.

Each case from ``onnx.backend.test.case.node.collect_testcases()`` becomes
``OUT/<case>/model.onnx`` plus ``OUT/<case>/test_data_set_<k>/{input,output}_<i>.pb``
(TensorProto files). Cases whose inputs or outputs are not plain tensors
(sequences, optionals, maps) are listed in ``OUT/non_tensor_cases.txt`` instead.
"""

import pathlib
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node


def write_case(case, out: pathlib.Path) -> bool:
    for inputs, outputs in case.data_sets:
        for arr in list(inputs) + list(outputs):
            if not isinstance(arr, (np.ndarray, np.generic)) or np.asarray(arr).dtype.kind not in "biuf":
                return False
    d = out / case.name
    d.mkdir(parents=True, exist_ok=True)
    onnx.save(case.model, str(d / "model.onnx"))
    for k, (inputs, outputs) in enumerate(case.data_sets):
        ds = d / f"test_data_set_{k}"
        ds.mkdir(exist_ok=True)
        for kind, arrays, infos in (
            ("input", inputs, case.model.graph.input),
            ("output", outputs, case.model.graph.output),
        ):
            for i, arr in enumerate(arrays):
                name = infos[i].name if i < len(infos) else f"{kind}_{i}"
                t = numpy_helper.from_array(np.asarray(arr), name)
                (ds / f"{kind}_{i}.pb").write_bytes(t.SerializeToString())
    return True


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    cases = node.collect_testcases(None)
    skipped = []
    written = 0
    for case in cases:
        if write_case(case, out):
            written += 1
        else:
            skipped.append(case.name)
    (out / "non_tensor_cases.txt").write_text("".join(f"{n}\n" for n in sorted(skipped)))
    print(f"node tests: wrote {written} cases, {len(skipped)} with non-tensor data (onnx {onnx.__version__})")


if __name__ == "__main__":
    main()
