"""The pruning benchmark's baseline: Torch-Pruning 1.6 (DepGraph MetaPruner, magnitude
importance, the same ratio for every layer, classifier kept, no fine-tuning) on the digits CNN
and transformer, loaded from their state dicts with the module definitions the fixtures ship.

Each pruned module is measured in torch (test accuracy; Torch-Pruning's own params and MACs
from tp.utils.count_ops_and_params) and exported to ONNX (opset 17, the fixtures' input and
output names, dynamic batch), so that bench_prune.py measures both tools' artifacts with the
same counters (`pare inspect`, onnxruntime, bytes on disk). Runs in tests/oracle/.venv-prune.
"""

import importlib.util
import os
import warnings
from dataclasses import dataclass, field

# The transformer's dims are fixed by its weights; the batch is the only free axis.
INPUT, OUTPUT = "input", "logits"
ORIGINAL = "original (torch)"  # the method of the unpruned rows: torch's counts, no ONNX


@dataclass
class TpResult:
    """One Torch-Pruning run: what was asked, what torch measured, where the ONNX went."""

    model: str
    method: str
    ratio: float
    torch_accuracy: float | None = None
    torch_params: int | None = None
    torch_macs: int | None = None
    structure: str = ""
    onnx: str | None = None
    error: str | None = None
    notes: list = field(default_factory=list)


def load_fixture_modules(fixtures):
    """The fixtures' models.py as a module (it is not on sys.path and not a package)."""
    spec = importlib.util.spec_from_file_location("fixture_models", os.path.join(fixtures, "models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_model(fixtures, name):
    """digits_cnn or digits_transformer with its trained weights, in eval mode."""
    import torch

    defs = load_fixture_modules(fixtures)
    model = {"digits_cnn": defs.DigitsCNN, "digits_transformer": defs.DigitsTransformer}[name]()
    state = torch.load(os.path.join(fixtures, f"{name}.state_dict.pth"), weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def torch_accuracy(model, x, y):
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def example_input():
    import torch

    return torch.zeros(1, 1, 8, 8)


def count(model):
    import torch_pruning as tp

    macs, params = tp.utils.count_ops_and_params(model, example_input())
    return int(params), int(macs)


def export_onnx(model, path):
    """Legacy (TorchScript) exporter, as the fixtures were made: the dynamo exporter needs
    onnxscript, which the venv does not carry."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example_input(),), path, dynamo=False, opset_version=17,
                          input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
    return path


def cnn_structure(m):
    return (f"c1..c3 {m.c1.out_channels}, pw {m.pw.out_channels}, fc1 {m.fc1.out_features} "
            "(of 16, 32, 64)")


def transformer_structure(m):
    attn = m.enc.self_attn
    return (f"heads {attn.num_heads} x {attn.head_dim}, d {attn.embed_dim}, "
            f"FFN {m.enc.linear1.out_features} (of 4 x 8, 32, 64)")


# How Torch-Pruning is asked to prune the transformer. nn.MultiheadAttention keeps Q, K, V
# in one in_proj whose width is the residual stream's, so Torch-Pruning has two choices:
#   heads  num_heads + prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=R:
#          whole heads (what pare does); the FFN is pruned at R as a separate group
#   width  its default (prune_head_dims=True): every head's dims, i.e. the residual width d,
#          with the embedding, positions, LayerNorms and FFN output
TRANSFORMER_MODES = {
    "heads": "L2 heads+FFN",
    "width": "L2 width+FFN (TP default)",
}


def prune_cnn(fixtures, ratio, p, x, y, out):
    import torch_pruning as tp

    r = TpResult("digits_cnn", f"L{p}", ratio)
    try:
        m = load_model(fixtures, "digits_cnn")
        pruner = tp.pruner.MetaPruner(m, example_input(), importance=tp.importance.MagnitudeImportance(p=p),
                                      pruning_ratio=ratio, global_pruning=False, ignored_layers=[m.fc2])
        pruner.step()
        finish(r, m, cnn_structure(m), x, y, out)
    except Exception as e:  # noqa: BLE001 - Torch-Pruning failing on a model is a result
        r.error = f"{type(e).__name__}: {one_line(e)}"
    return r


def prune_transformer(fixtures, ratio, mode, x, y, out):
    import torch_pruning as tp

    r = TpResult("digits_transformer", TRANSFORMER_MODES[mode], ratio)
    try:
        m = load_model(fixtures, "digits_transformer")
        heads_before = m.enc.self_attn.num_heads
        extra = {}
        if mode == "heads":
            extra = dict(num_heads={m.enc.self_attn: heads_before}, prune_num_heads=True,
                         prune_head_dims=False, head_pruning_ratio=ratio)
        with warnings.catch_warnings():
            # It warns that it will slice the positions' last dim, which is right here.
            warnings.simplefilter("ignore")
            pruner = tp.pruner.MetaPruner(m, example_input(), importance=tp.importance.MagnitudeImportance(p=2),
                                          pruning_ratio=ratio, global_pruning=False, ignored_layers=[m.head],
                                          **extra)
            pruner.step()
        finish(r, m, transformer_structure(m), x, y, out)
        if mode == "heads" and ratio * heads_before >= 1 and m.enc.self_attn.num_heads == heads_before:
            r.notes.append(f"asked for whole heads at {ratio:.0%}, Torch-Pruning removed none "
                           f"({heads_before} of {heads_before} heads kept): its nn.MultiheadAttention "
                           "pruner only slices embed_dim")
    except Exception as e:  # noqa: BLE001 - Torch-Pruning failing on a model is a result
        r.error = f"{type(e).__name__}: {one_line(e)}"
    return r


def finish(r, m, structure, x, y, out):
    r.torch_accuracy = torch_accuracy(m, x, y)
    r.torch_params, r.torch_macs = count(m)
    r.structure = structure
    r.onnx = export_onnx(m, out)


def unpruned(fixtures, name, x, y):
    """The original module as torch measures it (the reference for the pruned rows)."""
    m = load_model(fixtures, name)
    r = TpResult(name, ORIGINAL, 0.0)
    r.torch_accuracy = torch_accuracy(m, x, y)
    r.torch_params, r.torch_macs = count(m)
    r.structure = cnn_structure(m) if name == "digits_cnn" else transformer_structure(m)
    return r


def one_line(e):
    return " ".join(str(e).split())[:300]


def run_all(fixtures, work, ratios, cnn_norms, transformer_modes):
    """Every Torch-Pruning row, in table order. Deterministic: magnitude importance reads only
    the weights, and torch runs single-threaded."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = np.load(os.path.join(fixtures, "digits.npz"))
    x, y = data["x_test"], data["y_test"]
    rows = [unpruned(fixtures, "digits_cnn", x, y)]
    for p in cnn_norms:
        for ratio in ratios:
            rows.append(prune_cnn(fixtures, ratio, p, x, y, os.path.join(work, f"tp_cnn_l{p}_{pct(ratio)}.onnx")))
    rows.append(unpruned(fixtures, "digits_transformer", x, y))
    for mode in transformer_modes:
        for ratio in ratios:
            out = os.path.join(work, f"tp_transformer_{mode}_{pct(ratio)}.onnx")
            rows.append(prune_transformer(fixtures, ratio, mode, x, y, out))
    return rows


def pct(ratio):
    return f"{round(ratio * 100)}pct"
