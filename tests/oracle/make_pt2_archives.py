"""Writes the small `.pt2` archives under tests/data/pt2/ with torch itself.

Not run by the tests or CI (they have no torch): run it by hand to regenerate
the committed archives, with torch installed in a venv outside the repository:

    python -m venv /work/torchvenv && /work/torchvenv/bin/pip install torch==2.15.0
    /work/torchvenv/bin/python tests/oracle/make_pt2_archives.py tests/data/pt2

Two kinds of case, each `<case>.pt2` plus `<case>.npz` holding the inputs
(`in0`, `in1`, ...) and torch's outputs on them (`out0`, ...):

* zip layouts (`layout_*`): models of several sizes and with parameters, buffers
  and lifted constants. torch's writer (miniz with MZ_ZIP_FLAG_WRITE_ZIP64)
  always ends an archive with a ZIP64 end record and locator before the 32-bit
  end record. The zip crate's default offset detection took the central
  directory to start 76 bytes late whenever the first directory entry is 76
  bytes long, i.e. its name is 30 bytes: `<8-char stem>/data/weights/weight_0`
  (resnet18.pt2, vit_b_16.pt2, maxvit_t.pt2). The archive prefix is the stem of
  the file torch saves to, so the cases are saved under stems of chosen lengths
  and renamed; `layout.txt` records, per archive, whether that misleading
  layout is present.
* ATen ops (`op_*`): one op per archive. `unbind`, `chunk` and `roll` are kept in
  the pre-dispatch form `torch.export.export` gives and also decomposed; every
  other case is decomposed to the Core ATen opset (`ep.run_decompositions()`)
  and the script checks that the op it is named for is in the graph.
"""

import pathlib
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
GEN = torch.Generator().manual_seed(1234)


def randn(*shape):
    return torch.randn(*shape, generator=GEN)


def uniform(lo, hi, *shape):
    return torch.rand(*shape, generator=GEN) * (hi - lo) + lo


def ints(lo, hi, *shape):
    return torch.randint(lo, hi, shape, generator=GEN)


class Fn(torch.nn.Module):
    """A module whose forward is a plain function of its inputs."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


class Mlp(torch.nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:])
        )

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = torch.relu(x)
        return x


class ConvBn(torch.nn.Module):
    """Parameters and buffers (running stats, the int64 batch counter)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.bn.running_mean.copy_(randn(8) * 0.1)
        self.bn.running_var.copy_(uniform(0.5, 1.5, 8))

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class WithConstants(torch.nn.Module):
    """A non-persistent buffer and a tensor made in forward: lifted constants."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 6)
        self.register_buffer("shift", randn(6), persistent=False)

    def forward(self, x):
        return self.lin(x) * torch.tensor([0.5, 1.0, 1.5, 2.0, 2.5, 3.0]) + self.shift


class ManyParams(torch.nn.Module):
    """Hundreds of small weight files: many directory entries."""

    def __init__(self, n):
        super().__init__()
        self.ps = torch.nn.ParameterList(torch.nn.Parameter(randn(4)) for _ in range(n))

    def forward(self, x):
        for p in self.ps:
            x = x * 0.999 + p
        return x


class Attention(torch.nn.Module):
    """`q, k, v = qkv.unbind(0)` as in ViT blocks."""

    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(8, 24)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, 2, 4).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        a = (q @ k.transpose(-2, -1) * 0.5).softmax(-1)
        return (a @ v).transpose(1, 2).reshape(b, n, c)


class ShuffleBlock(torch.nn.Module):
    """ShuffleNetV2's split: `x1, x2 = x.chunk(2, dim=1)`, then channel shuffle."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        y = torch.cat((x1, torch.relu(self.conv(x2))), dim=1)
        b, c, h, w = y.shape
        return y.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)


def swin_shift(x):
    """Swin's cyclic window shift and its reverse on a 1-D roll."""
    shifted = torch.roll(x, shifts=(-1, -2), dims=(1, 2))
    return shifted * 2.0 + torch.roll(x[:, :, :, :1], shifts=3)


# name -> (module, inputs, decompose, the targets the graph must hold)
LAYOUTS = {
    # stem lengths: 8 gives the 76-byte first directory entry
    "layout_tiny_mlp": ("tiny_mlp", Mlp([4, 3]), (randn(2, 4),)),
    "layout_tiny_mlp7": ("tinymlp", Mlp([4, 3]), (randn(2, 4),)),
    "layout_conv_bn": ("conv_bn8", ConvBn().eval(), (randn(1, 3, 6, 6),)),
    "layout_constants": ("constant", WithConstants(), (randn(3, 6),)),
    "layout_wide_mlp": ("wide_mlp", Mlp([64, 128, 96, 10]), (randn(2, 64),)),
    "layout_many_params": ("manypars", ManyParams(120), (randn(2, 4),)),
    "layout_long_name": ("a_much_longer_archive_name", Mlp([5, 5, 2]), (randn(3, 5),)),
}


def op_cases():
    """name -> (function or module, inputs, decompose, required targets)."""
    x = randn(2, 3, 4)
    u = uniform(-0.9, 0.9, 2, 3, 4)
    pos = uniform(0.2, 3.0, 2, 3, 4)
    big = uniform(1.1, 4.0, 2, 3, 4)
    y = randn(2, 3, 4)
    i = ints(-6, 7, 2, 3, 4)
    j = ints(1, 5, 2, 3, 4)
    b = x > 0
    c = y > 0
    img = randn(1, 2, 5, 6)
    vol = randn(1, 2, 4, 5, 6)
    special = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), -2.5, 0.0])
    halves = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -3.7])
    cases = {
        # the three the issue names, in export's pre-dispatch form and decomposed
        "op_unbind": (Attention(), (randn(2, 5, 8),), False, ["aten.unbind.int"]),
        "op_unbind_core": (Attention(), (randn(2, 5, 8),), True, []),
        "op_chunk": (ShuffleBlock(), (randn(1, 8, 3, 3),), False, ["aten.chunk.default"]),
        "op_chunk_core": (ShuffleBlock(), (randn(1, 8, 3, 3),), True, []),
        "op_chunk_uneven": (lambda t: t.chunk(3, dim=-1)[2] * 2.0, (randn(2, 7),), False, ["aten.chunk.default"]),
        "op_roll": (swin_shift, (randn(1, 4, 5, 3),), False, ["aten.roll.default"]),
        "op_roll_core": (swin_shift, (randn(1, 4, 5, 3),), True, ["aten.index_select.default", "aten.arange.start_step"]),
        "op_roll_flat": (lambda t: torch.roll(t, 4), (randn(3, 5),), False, ["aten.roll.default"]),
        # pre-dispatch forms real models hold (MaxViT, Swin)
        "op_swapaxes": (lambda a: a.swapaxes(0, 2), (x,), False, ["aten.swapaxes.default"]),
        "op_einsum": (lambda a, z: torch.einsum("bij,bkj->bik", a, z), (x, y), False, ["aten.einsum.default"]),
        "op_pad_reflect": (lambda a: F.pad(a, (1, 2, 2, 1), mode="reflect"), (img,), False, ["aten.pad.default"]),
        "op_pad_replicate": (lambda a: F.pad(a, (1, 2, 2, 1), mode="replicate"), (img,), False, ["aten.pad.default"]),
        "op_pad_circular": (lambda a: F.pad(a, (1, 2, 2, 1), mode="circular"), (img,), False, ["aten.pad.default"]),
        "op_masked_fill": (lambda a, m: a.masked_fill(m, -100.0), (x, b), False, ["aten.masked_fill.Scalar"]),
        "op_new_zeros": (lambda a: a.new_zeros((3, 4)) + a, (x,), False, ["aten.new_zeros.default"]),
        "op_zeros_ones": (lambda a: torch.zeros(3, 4) + torch.ones(4) + a, (x,), False, ["aten.zeros.default", "aten.ones.default"]),
        "op_as_strided": (lambda a: torch.ops.aten.as_strided.default(a.mean((-1, -2), keepdim=True), [1, 2, 1, 1], [2, 1, 2, 2]), (img,), False, ["aten.as_strided.default"]),
        # float unary
        "op_acos": (torch.acos, (u,), True, ["aten.acos.default"]),
        "op_acosh": (torch.acosh, (big,), True, ["aten.acosh.default"]),
        "op_asin": (torch.asin, (u,), True, ["aten.asin.default"]),
        "op_asinh": (torch.asinh, (x,), True, ["aten.asinh.default"]),
        "op_atan": (torch.atan, (x,), True, ["aten.atan.default"]),
        "op_atanh": (torch.atanh, (u,), True, ["aten.atanh.default"]),
        "op_ceil": (torch.ceil, (x * 3,), True, ["aten.ceil.default"]),
        "op_floor": (torch.floor, (x * 3,), True, ["aten.floor.default"]),
        "op_round": (torch.round, (halves,), True, ["aten.round.default"]),
        "op_trunc": (torch.trunc, (x * 3,), True, ["aten.trunc.default"]),
        "op_sign": (torch.sign, (torch.cat([x.flatten(), torch.zeros(2)]),), True, ["aten.sign.default"]),
        "op_sin": (torch.sin, (x,), True, ["aten.sin.default"]),
        "op_cos": (torch.cos, (x,), True, ["aten.cos.default"]),
        "op_tan": (torch.tan, (u,), True, ["aten.tan.default"]),
        "op_sinh": (torch.sinh, (x,), True, ["aten.sinh.default"]),
        "op_cosh": (torch.cosh, (x,), True, ["aten.cosh.default"]),
        "op_expm1": (torch.expm1, (x,), True, ["aten.expm1.default"]),
        "op_log1p": (torch.log1p, (pos,), True, ["aten.log1p.default"]),
        "op_log2": (torch.log2, (pos,), True, ["aten.log2.default"]),
        "op_log10": (torch.log10, (pos,), True, ["aten.log10.default"]),
        "op_elu": (lambda t: F.elu(t, alpha=0.7), (x,), True, ["aten.elu.default"]),
        "op_isnan": (torch.isnan, (special,), True, ["aten.isnan.default"]),
        "op_isinf": (torch.isinf, (special,), True, ["aten.isinf.default"]),
        "op_logical_not": (torch.logical_not, (x.round(),), True, ["aten.logical_not.default"]),
        "op_bitwise_not_int": (torch.bitwise_not, (i,), True, ["aten.bitwise_not.default"]),
        "op_bitwise_not_bool": (torch.bitwise_not, (b,), True, ["aten.bitwise_not.default"]),
        # binary
        "op_eq": (lambda a, z: a.round() == z.round(), (x, y), True, ["aten.eq.Tensor"]),
        "op_eq_scalar": (lambda a: a.round() == 0, (x,), True, ["aten.eq.Scalar"]),
        "op_ne": (lambda a, z: a.round() != z.round(), (x, y), True, ["aten.ne.Tensor"]),
        "op_ne_scalar": (lambda a: a.round() != 1, (x,), True, ["aten.ne.Scalar"]),
        "op_lt": (torch.lt, (x, y), True, ["aten.lt.Tensor"]),
        "op_lt_scalar": (lambda a: a < 0.25, (x,), True, ["aten.lt.Scalar"]),
        "op_le": (torch.le, (i, j), True, ["aten.le.Tensor"]),
        "op_le_scalar": (lambda a: a <= 2, (i,), True, ["aten.le.Scalar"]),
        "op_gt": (torch.gt, (x, y), True, ["aten.gt.Tensor"]),
        "op_gt_scalar": (lambda a: a > -0.5, (x,), True, ["aten.gt.Scalar"]),
        "op_ge": (torch.ge, (i, j), True, ["aten.ge.Tensor"]),
        "op_ge_scalar": (lambda a: a >= 1, (i,), True, ["aten.ge.Scalar"]),
        "op_maximum": (torch.maximum, (x, y), True, ["aten.maximum.default"]),
        "op_minimum": (torch.minimum, (x, y[0]), True, ["aten.minimum.default"]),
        "op_fmod": (torch.fmod, (x * 4, y), True, ["aten.fmod.Tensor"]),
        "op_fmod_scalar": (lambda a: torch.fmod(a * 4, 1.5), (x,), True, ["aten.fmod.Scalar"]),
        "op_fmod_int": (torch.fmod, (i, j), True, ["aten.fmod.Tensor"]),
        "op_remainder": (torch.remainder, (x * 4, y), True, ["aten.remainder.Tensor"]),
        "op_remainder_scalar": (lambda a: torch.remainder(a * 4, 1.5), (x,), True, ["aten.remainder.Scalar"]),
        "op_remainder_int": (torch.remainder, (i, j), True, ["aten.remainder.Tensor"]),
        "op_bitwise_and": (torch.bitwise_and, (i, j), True, ["aten.bitwise_and.Tensor"]),
        "op_bitwise_or_scalar": (lambda a: a | 6, (i,), True, ["aten.bitwise_or.Scalar"]),
        "op_bitwise_xor_bool": (torch.bitwise_xor, (b, c), True, ["aten.bitwise_xor.Tensor"]),
        "op_logical_and": (torch.logical_and, (x.round(), c), True, ["aten.logical_and.default"]),
        "op_logical_or": (torch.logical_or, (b, c), True, ["aten.logical_or.default"]),
        "op_logical_xor": (torch.logical_xor, (x.round(), y.round()), True, ["aten.logical_xor.default"]),
        "op_pow_scalar_base": (lambda a: torch.pow(2.0, a), (x,), True, ["aten.pow.Scalar"]),
        "op_div_floor": (lambda a, z: torch.div(a, z, rounding_mode="floor"), (x * 4, y), True, ["aten.div.Tensor_mode"]),
        "op_div_trunc": (lambda a, z: torch.div(a, z, rounding_mode="trunc"), (x * 4, y), True, ["aten.div.Tensor_mode"]),
        "op_div_floor_int": (lambda a, z: torch.div(a, z, rounding_mode="floor"), (i, j), True, ["aten.div.Tensor_mode"]),
        "op_div_trunc_scalar": (lambda a: torch.ops.aten.div.Scalar_mode(a, 0.75, rounding_mode="trunc"), (x * 4,), False, ["aten.div.Scalar_mode"]),
        "op_clamp_tensor": (lambda a, lo, hi: torch.clamp(a, lo, hi), (x, y[:, :1] * 0.2 - 0.5, y[0] * 0.2 + 0.5), True, ["aten.clamp.Tensor"]),
        # reductions
        "op_any": (lambda a: torch.any(a.round()), (x,), True, ["aten.any.default"]),
        "op_any_dim": (lambda a: torch.any(a, dim=1), (b,), True, ["aten.any.dim"]),
        "op_any_dims": (lambda a: torch.any(a.round(), dim=(0, 2), keepdim=True), (x,), True, ["aten.any.dims"]),
        "op_argmax": (lambda a: torch.argmax(a, dim=1, keepdim=True), (x,), True, ["aten.argmax.default"]),
        "op_argmax_flat": (lambda a: torch.argmax(a), (x,), True, ["aten.argmax.default"]),
        "op_argmin": (lambda a: torch.argmin(a, dim=-1), (x,), True, ["aten.argmin.default"]),
        "op_prod": (torch.prod, (x,), True, ["aten.prod.default"]),
        "op_prod_dim": (lambda a: torch.prod(a, 2, keepdim=True), (x,), True, ["aten.prod.dim_int"]),
        "op_cumsum": (lambda a: torch.cumsum(a, dim=1), (x,), True, ["aten.cumsum.default"]),
        "op_max_dim": (lambda a: torch.max(a, dim=2), (x,), True, ["aten.max.dim"]),
        "op_min_dim": (lambda a: torch.min(a, dim=0, keepdim=True), (x,), True, ["aten.min.dim"]),
        "op_var_dim": (lambda a: torch.ops.aten.var.dim(a, [1, 2], False), (x,), False, ["aten.var.dim"]),
        "op_topk": (lambda a: torch.topk(a, 2, dim=-1), (x,), True, ["aten.topk.default"]),
        "op_topk_smallest": (lambda a: torch.topk(a, 2, dim=1, largest=False), (x,), True, ["aten.topk.default"]),
        "op_sort": (lambda a: torch.sort(a, dim=-1, descending=True), (x,), True, ["aten.sort.default"]),
        "op_sort_ascending": (lambda a: torch.sort(a, dim=1), (x,), True, ["aten.sort.default"]),
        # data movement
        "op_flip": (lambda a: torch.flip(a, (0, 2)), (x,), True, ["aten.flip.default"]),
        "op_constant_pad": (lambda a: F.pad(a, (1, 2, 0, 1), value=0.5), (img,), True, ["aten.constant_pad_nd.default"]),
        "op_constant_pad_crop": (lambda a: F.pad(a, (-1, 2, 1, -2)), (img,), True, ["aten.constant_pad_nd.default"]),
        "op_reflection_pad1d": (lambda a: torch.ops.aten.reflection_pad1d(a, [2, 1]), (x,), False, ["aten.reflection_pad1d.default"]),
        "op_reflection_pad2d": (lambda a: torch.ops.aten.reflection_pad2d(a, [1, 2, 2, 1]), (img,), False, ["aten.reflection_pad2d.default"]),
        "op_reflection_pad3d": (lambda a: torch.ops.aten.reflection_pad3d(a, [1, 1, 2, 0, 1, 2]), (vol,), False, ["aten.reflection_pad3d.default"]),
        "op_replication_pad2d": (lambda a: torch.ops.aten.replication_pad2d(a, [1, 2, 2, 1]), (img,), False, ["aten.replication_pad2d.default"]),
        "op_replication_pad3d": (lambda a: torch.ops.aten.replication_pad3d(a, [1, 1, 2, 0, 1, 2]), (vol,), False, ["aten.replication_pad3d.default"]),
        "op_repeat": (lambda a: a.repeat(2, 1, 1, 3), (x,), True, ["aten.repeat.default"]),
        "op_gather": (lambda a, k: torch.gather(a, 2, k), (x, ints(0, 4, 2, 3, 2)), True, ["aten.gather.default"]),
        "op_index_select": (lambda a, k: torch.index_select(a, 1, k), (x, torch.tensor([2, 0, 2, 1])), True, ["aten.index_select.default"]),
        "op_index": (lambda a, k: a[k], (x, torch.tensor([[1, 0], [1, 1]])), True, ["aten.index.Tensor"]),
        "op_index_dim1": (lambda a, k: a[:, k], (x, torch.tensor([2, 0, 2])), True, ["aten.index.Tensor"]),
        "op_index_put_mask": (lambda a, m, v: torch.ops.aten.index_put.default(a, [m], v), (x, b, torch.tensor(5.0)), False, ["aten.index_put.default"]),
        "op_index_put_mask_prefix": (lambda a, m, v: torch.ops.aten.index_put.default(a, [m], v, True), (x, b[:, :, 0], torch.tensor(2.0)), False, ["aten.index_put.default"]),
        "op_index_put_rows": (lambda a, k, v: torch.ops.aten.index_put.default(a, [k], v), (randn(5, 3), torch.tensor([3, 0]), randn(2, 3)), False, ["aten.index_put.default"]),
        "op_index_put_accumulate": (lambda a, k, v: torch.ops.aten.index_put.default(a, [k], v, True), (randn(5, 3), torch.tensor([3, 3, 1]), randn(3)), False, ["aten.index_put.default"]),
        "op_scatter_src": (lambda a, k, s: torch.scatter(a, 1, k, s), (x, torch.tensor([[[0, 1, 2, 0]], [[2, 2, 1, 1]]]), y[:, :1]), True, ["aten.scatter.src"]),
        "op_scatter_src_larger": (lambda a, k, s: torch.scatter(a, 1, k, s), (x, torch.tensor([[[0, 1, 2, 0]], [[2, 2, 1, 1]]]), y), True, ["aten.scatter.src"]),
        "op_scatter_value": (lambda a, k: torch.scatter(a, 2, k, 7.0), (x, torch.tensor([[[3], [0], [1]], [[2], [2], [0]]])), True, ["aten.scatter.value"]),
        "op_scatter_add": (lambda a, k, s: torch.scatter_add(a, 1, k, s), (x, ints(0, 3, 2, 3, 4), y), True, ["aten.scatter_add.default"]),
        "op_scatter_amax": (lambda a, k, s: torch.scatter_reduce(a, 1, k, s, "amax"), (x, ints(0, 3, 2, 3, 4), y), True, ["aten.scatter_reduce.two"]),
        "op_diagonal": (lambda a: torch.diagonal(a, offset=1, dim1=1, dim2=2) * 1.0, (x,), True, ["aten.diagonal.default"]),
        "op_select_scatter": (lambda a, s: torch.ops.aten.select_scatter.default(a, s, 1, 2), (x, y[:, 0]), False, ["aten.select_scatter.default"]),
        "op_slice_scatter": (lambda a, s: torch.slice_scatter(a, s, 2, 1, 3), (x, y[:, :, :2]), True, ["aten.slice_scatter.default"]),
        "op_slice_scatter_step": (lambda a, s: torch.slice_scatter(a, s, 2, 0, 4, 2), (x, y[:, :, :2]), True, ["aten.slice_scatter.default"]),
        "op_masked_scatter": (lambda a, m, s: a.masked_scatter(m, s), (x, b[0], y * 10), True, ["aten.masked_scatter.default"]),
        "op_nonzero": (lambda a: torch.nonzero(a), (b,), True, ["aten.nonzero.default"]),
        "op_atan2": (torch.atan2, (torch.cat([x.flatten(), torch.tensor([0.0, 0.0, 1.0, -1.0])]), torch.cat([y.flatten(), torch.tensor([0.0, -1.0, 0.0, 0.0])])), True, ["aten.atan2.default"]),
        "op_cdist": (lambda a, z: torch.cdist(a, z), (randn(2, 4, 3), randn(2, 5, 3)), True, ["aten._cdist_forward.default"]),
        "op_cdist_p1": (lambda a, z: torch.cdist(a, z, p=1.0), (randn(4, 3), randn(5, 3)), True, ["aten._cdist_forward.default"]),
        "op_cdist_p3": (lambda a, z: torch.cdist(a, z, p=3.0), (randn(4, 3), randn(5, 3)), True, ["aten._cdist_forward.default"]),
        "op_pdist": (lambda a: F.pdist(a), (randn(5, 3),), True, ["aten._pdist_forward.default"]),
        # pooling, resizing, normalization
        "op_upsample_nearest2d": (lambda a: F.interpolate(a, scale_factor=2, mode="nearest"), (img,), True, ["aten.upsample_nearest2d.vec"]),
        "op_upsample_nearest2d_size": (lambda a: F.interpolate(a, size=(7, 4), mode="nearest"), (img,), True, ["aten.upsample_nearest2d.vec"]),
        "op_upsample_bilinear2d": (lambda a: F.interpolate(a, size=(8, 9), mode="bilinear", align_corners=False), (img,), True, ["aten.upsample_bilinear2d.vec"]),
        "op_upsample_bilinear2d_corners": (lambda a: F.interpolate(a, scale_factor=2, mode="bilinear", align_corners=True), (img,), True, ["aten.upsample_bilinear2d.vec"]),
        "op_avg_pool3d": (lambda a: F.avg_pool3d(a, 2, stride=1, padding=1), (vol,), True, ["aten.avg_pool3d.default"]),
        "op_max_pool3d": (lambda a: F.max_pool3d(a, 2, stride=2), (vol,), True, ["aten.max_pool3d_with_indices.default"]),
        "op_adaptive_avg_pool3d": (lambda a: torch.ops.aten._adaptive_avg_pool3d(a, [1, 1, 1]), (vol,), False, ["aten._adaptive_avg_pool3d.default"]),
        "op_adaptive_avg_pool3d_even": (lambda a: torch.ops.aten._adaptive_avg_pool3d(a, [2, 5, 3]), (vol,), False, ["aten._adaptive_avg_pool3d.default"]),
        "op_batch_norm_legit": (lambda a, w, b_, m, v: torch.ops.aten._native_batch_norm_legit.default(a, w, b_, m, v, False, 0.1, 1e-5)[0], (img, uniform(0.5, 1.5, 2), randn(2), randn(2), uniform(0.5, 1.5, 2)), False, ["aten._native_batch_norm_legit.default"]),
        "op_group_norm": (torch.nn.GroupNorm(2, 4), (randn(2, 4, 3, 3),), True, ["aten.native_group_norm.default"]),
        # generators and copies
        "op_arange_end": (lambda a: a + torch.arange(4), (i,), False, ["aten.arange.default"]),
        "op_arange": (lambda a: a + torch.arange(1, 9, 2, dtype=torch.float32), (x,), True, ["aten.arange.start_step"]),
        "op_full": (lambda a: a * torch.full((3, 4), 1.5), (x,), True, ["aten.full.default"]),
        "op_full_like": (lambda a: torch.full_like(a, 2.0) - a, (x,), True, ["aten.full_like.default"]),
        "op_scalar_tensor": (lambda a: torch.where(a > 0, a, torch.scalar_tensor(-1.0)), (x,), True, []),
        "op_fill": (lambda a: torch.ops.aten.fill.Scalar(a, 3.0) + a, (x,), False, ["aten.fill.Scalar"]),
        "op_to_copy": (lambda a: (a * 4).to(torch.int64), (x,), True, ["aten._to_copy.default"]),
        "op_copy": (lambda a, z: torch.ops.aten.copy.default(a, z), (x, y[0]), True, ["aten.copy.default"]),
        "op_zeros_like_empty": (lambda a: torch.empty_like(a).zero_() + a, (x,), True, []),
    }
    return cases


def export(fn, inputs, decompose):
    module = fn if isinstance(fn, torch.nn.Module) else Fn(fn)
    ep = torch.export.export(module.eval(), inputs)
    return ep.run_decompositions() if decompose else ep


def targets(ep):
    return sorted({str(n.target) for n in ep.graph.nodes if n.op == "call_function"})


def misleading_layout(data: bytes) -> bool:
    """Whether a directory header sits at `EOCD − CD size` but not at the CD offset
    the end record gives (the layout the zip crate's default detection misread)."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    guess = eocd - cd_size
    return guess != cd_offset and data[guess : guess + 4] == b"PK\x01\x02"


def save(ep, out: pathlib.Path, name: str, stem: str, inputs):
    tmp = out / f"{stem}.pt2"
    torch.export.save(ep, tmp)
    tmp.rename(out / f"{name}.pt2")
    with torch.no_grad():
        res = ep.module()(*inputs)
    res = res if isinstance(res, (tuple, list)) else (res,)
    # C order: torch may return strided views, which numpy would save in Fortran order.
    arrays = {f"in{k}": t.contiguous().numpy() for k, t in enumerate(inputs)}
    arrays.update({f"out{k}": t.contiguous().numpy() for k, t in enumerate(res)})
    np.savez(out / f"{name}.npz", **arrays)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/pt2")
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.pt2")) + list(out.glob("*.npz")):
        old.unlink()
    lines = ["# archive  misleading-layout  bytes  entries  (written by make_pt2_archives.py)"]
    for name, (stem, module, inputs) in LAYOUTS.items():
        ep = export(module, inputs, False)
        save(ep, out, name, stem, inputs)
        data = (out / f"{name}.pt2").read_bytes()
        import zipfile

        entries = len(zipfile.ZipFile(out / f"{name}.pt2").infolist())
        lines.append(f"{name}.pt2 {'yes' if misleading_layout(data) else 'no'} {len(data)} {entries}")
    failed = []
    for name, (fn, inputs, decompose, required) in op_cases().items():
        try:
            ep = export(fn, inputs, decompose)
        except Exception as e:  # report every case that torch cannot export at once
            failed.append(f"{name}: export failed: {str(e).splitlines()[0]}")
            continue
        held = targets(ep)
        missing = [r for r in required if r not in held]
        if missing:
            failed.append(f"{name}: graph lacks {missing}; it holds {held}")
            continue
        save(ep, out, name, name, inputs)
        lines.append(f"{name}.pt2 {'yes' if misleading_layout((out / f'{name}.pt2').read_bytes()) else 'no'}")
        print(name, " ".join(held))
    if failed:
        raise SystemExit("\n".join(failed))
    (out / "layout.txt").write_text("\n".join(lines) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(list(out.glob('*.pt2')))} archives, {total} bytes in all, to {out}")


if __name__ == "__main__":
    main()
