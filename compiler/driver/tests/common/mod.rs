//! Helpers the driver's CLI tests share: running the binary, finding the shared
//! fixtures, scratch directories, reading JSON output.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn pare(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(args)
        .output()
        .expect("run pare")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shared fixture's path, as a string for argument lists.
pub fn fixture(name: &str) -> String {
    fixture_path(name).to_string_lossy().into_owned()
}

/// The shared fixtures (`$PARE_FIXTURES`, or the nearest `shared/fixtures` above).
pub fn fixture_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("PARE_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            root()
                .canonicalize()
                .ok()?
                .ancestors()
                .map(|d| d.join("shared/fixtures"))
                .find(|d| d.join("README.md").exists())
        })
        .expect("no shared/fixtures above the checkout (set PARE_FIXTURES)");
    dir.join(name)
}

/// A fresh, empty directory under the target dir for test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/test-scratch/driver").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs pare expecting success; returns stdout parsed as JSON.
pub fn json_of(args: &[&str]) -> Value {
    let o = pare(args);
    assert!(o.status.success(), "pare {args:?} failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("one JSON object on stdout")
}

/// Test accuracy of `model` on the 500 digits of digits.npz, measured by `pare eval`.
pub fn digits_accuracy(model: &str) -> f64 {
    let r = json_of(&[
        "eval",
        model,
        "--data",
        &fixture("digits.npz"),
        "--x",
        "x_test",
        "--y",
        "y_test",
        "--json",
    ]);
    r["accuracy"]["value"]
        .as_f64()
        .or_else(|| r["accuracy"].as_f64())
        .unwrap_or_else(|| panic!("no accuracy in {r}"))
}

/// The oracle Python (`.venv/bin/python`, or `$PARE_PYTHON`); fails loudly when
/// missing (`bash scripts/setup-tests.sh` installs it).
pub fn python() -> PathBuf {
    let py = std::env::var_os("PARE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        py.exists(),
        "oracle Python {} is missing: run `bash scripts/setup-tests.sh`",
        py.display()
    );
    py
}

/// Writes `DIR/digits_rgb{side}.npy`: the first `n` training digits of digits.npz
/// (8x8 in [0, 1]) upscaled bilinearly to `side`x`side` (half-pixel centres, edges
/// clamped, like torch's `interpolate(align_corners=False)`), the gray level
/// replicated over 3 channels and normalized with ImageNet's per-channel mean and
/// standard deviation: f32 [n, 3, side, side], deterministic. Calibration data for
/// the image fixtures (the random-init MobileNets: agreement with float only).
pub fn image_calib(dir: &Path, n: usize, side: usize) -> PathBuf {
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    let arrays = pare_npy::read_npz(&fixture_path("digits.npz")).expect("reads digits.npz");
    let (_, x) = arrays
        .into_iter()
        .find(|(k, _)| k == "x_train")
        .expect("digits.npz has x_train");
    assert_eq!(&x.shape()[1..], &[1, 8, 8], "x_train is [n,1,8,8]");
    assert!(x.shape()[0] >= n, "digits.npz has fewer than {n} samples");
    let src = x.to_f32_vec();
    // Source coordinate of each output pixel: (i + 0.5) * 8 / side - 0.5, clamped.
    let taps: Vec<(usize, usize, f32)> = (0..side)
        .map(|i| {
            let c = ((i as f32 + 0.5) * 8.0 / side as f32 - 0.5).clamp(0.0, 7.0);
            let lo = c.floor() as usize;
            (lo, (lo + 1).min(7), c - lo as f32)
        })
        .collect();
    let mut out = Vec::with_capacity(n * 3 * side * side);
    for s in 0..n {
        let img = &src[s * 64..(s + 1) * 64];
        let mut plane = Vec::with_capacity(side * side);
        for &(y0, y1, fy) in &taps {
            for &(x0, x1, fx) in &taps {
                let top = img[y0 * 8 + x0] * (1.0 - fx) + img[y0 * 8 + x1] * fx;
                let bottom = img[y1 * 8 + x0] * (1.0 - fx) + img[y1 * 8 + x1] * fx;
                plane.push(top * (1.0 - fy) + bottom * fy);
            }
        }
        for c in 0..3 {
            out.extend(plane.iter().map(|v| (v - MEAN[c]) / STD[c]));
        }
    }
    let t = pare_ir::Tensor::from_vec(vec![n, 3, side, side], out).expect("tensor");
    let path = dir.join(format!("digits_rgb{side}.npy"));
    std::fs::write(&path, pare_npy::encode_npy(&t).expect("encodes")).expect("writes the npy");
    path
}
