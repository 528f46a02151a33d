"""Rows and the printed tables of the pruning benchmark (bench_prune.py)."""

from dataclasses import dataclass, field


@dataclass
class Row:
    """One artifact, measured: accuracy by onnxruntime on x_test, params and MACs by
    `pare inspect`, bytes on disk; flash from the RP2040 firmware when built."""

    model: str
    tool: str
    method: str
    ratio: float | None
    accuracy: float | None = None
    pare_accuracy: float | None = None  # pare eval of pare's own artifacts
    params: int | None = None
    macs: int | None = None
    bytes: int | None = None
    weight_bytes: int | None = None
    flash: int | None = None
    structure: str = ""
    error: str | None = None
    notes: list = field(default_factory=list)
    command: str = ""  # the pare compile that made the artifact


def num(v):
    return "-" if v is None else f"{v:,}"


def acc(v):
    return "-" if v is None else f"{v:.3f}"


def pct(r):
    return "-" if r is None else f"{r:.0%}"


def times(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def points(a, b):
    return "-" if a is None or b is None else f"{(a - b) * 100:+.1f}"


def render(rows, columns):
    """Left-aligned text columns; `columns` is [(header, function of row)]."""
    cells = [[h for h, _ in columns]] + [[f(r) for _, f in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(columns))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def structured_table(rows, reference_of):
    """Structured rows with, for each pare row, its Torch-Pruning counterpart
    (`reference_of(row)`): accuracy difference in points, params/MACs/weight-bytes ratios.
    Weight bytes, not file bytes: the two tools' ONNX exporters lay out constants differently."""

    def vs(f):
        return lambda r: f(r, reference_of(r)) if reference_of(r) else ""

    columns = [
        ("tool", lambda r: r.tool),
        ("method", lambda r: r.method),
        ("ratio", lambda r: pct(r.ratio)),
        ("accuracy", lambda r: acc(r.accuracy) if not r.error else "FAILED"),
        ("params", lambda r: num(r.params)),
        ("MACs", lambda r: num(r.macs)),
        ("weight bytes", lambda r: num(r.weight_bytes)),
        ("vs TP row", vs(lambda r, t: t.method)),
        ("acc pt", vs(lambda r, t: points(r.accuracy, t.accuracy))),
        ("params", vs(lambda r, t: times(r.params, t.params))),
        ("MACs", vs(lambda r, t: times(r.macs, t.macs))),
        ("weight bytes", vs(lambda r, t: times(r.weight_bytes, t.weight_bytes))),
        ("structure", lambda r: r.structure),
    ]
    return render(rows, columns)


def sparse_table(rows, plain):
    """Unstructured / N:M rows against the plain int8 artifact `plain`."""
    columns = [
        ("tool", lambda r: r.tool),
        ("method", lambda r: r.method),
        ("accuracy", lambda r: acc(r.accuracy) if not r.error else "FAILED"),
        ("pare eval", lambda r: acc(r.pare_accuracy)),
        ("drop pt", lambda r: points(plain.accuracy, r.accuracy) if r is not plain else ""),
        ("ONNX bytes", lambda r: num(r.bytes)),
        ("x int8", lambda r: times(r.bytes, plain.bytes) if r is not plain else ""),
        ("RP2040 flash", lambda r: num(r.flash)),
        ("x int8", lambda r: times(r.flash, plain.flash) if r is not plain else ""),
    ]
    return render(rows, columns)


def failures(rows):
    """The rows that failed, with why, for under the table."""
    return [f"  {label(r)}: {r.error}" for r in rows if r.error]


def notes(rows):
    return [f"  {label(r)}: {n}" for r in rows for n in r.notes]


def label(r):
    return f"{r.tool} {r.method}" + ("" if r.ratio is None else f" {pct(r.ratio)}")
