"""Writes the small models torch.onnx exports with LayerNorm, GELU (erf and
tanh), SiLU, HardSwish, HardSigmoid and Softmax spelled out in elementary ops
(opsets 13 and 16: before LayerNormalization (17) and Gelu (20) existed), for
`tests/fusion_exporters.rs`. CI has no torch: the outputs are committed under
tests/data/fusion/.

usage (torch's legacy exporter needs the onnx package importable):
  python make_torch_fusion_models.py tests/data/fusion
"""

import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(8)
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln(x)
        a = nn.functional.gelu(h)
        b = nn.functional.gelu(h, approximate="tanh")
        c = nn.functional.silu(h)
        d = nn.functional.hardswish(h)
        e = nn.functional.hardsigmoid(h)
        f = torch.softmax(self.lin(h), -1)
        return a + b + c + d + e + f


def main() -> int:
    out = sys.argv[1]
    torch.manual_seed(0)
    m = Block().eval()
    with torch.no_grad():
        m.ln.weight.uniform_(0.5, 1.5)
        m.ln.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, 8)
    for opset in (13, 16):
        torch.onnx.export(
            m,
            (x,),
            f"{out}/torch_opset{opset}.onnx",
            opset_version=opset,
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
