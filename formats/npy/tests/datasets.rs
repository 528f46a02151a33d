//! Datasets and whole arrays against files numpy wrote: every dtype, stored and
//! deflated `.npz`, single `.npy`, folders of samples and batches, batch
//! boundaries and limits, and broken files that must fail naming the file.

mod support;

use pare_ir::{DType, Tensor};
use pare_npy::{
    decode_npy, encode_npy, read_npy, read_npz, DataSpec, Dataset, NpyError, OpenOptions,
};
use std::io::Write;
use std::path::Path;
use support::{numpy_files, run_python, scratch, ARRAYS};

/// What a test returns: any error fails it, with its message.
type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Streams a dataset: the batch shapes and all bytes in order.
fn stream(ds: &Dataset, batch: usize, limit: Option<usize>) -> (Vec<Vec<usize>>, Vec<u8>) {
    let mut shapes = Vec::new();
    let mut bytes = Vec::new();
    for b in ds.batches(batch, limit) {
        let b = b.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.dtype(), ds.dtype());
        shapes.push(b.shape().to_vec());
        bytes.extend(b.to_le_bytes());
    }
    (shapes, bytes)
}

fn npz(path: &Path, key: &str) -> DataSpec {
    DataSpec::Npz {
        path: path.to_path_buf(),
        key: Some(key.to_string()),
    }
}

fn open_err(spec: &DataSpec) -> String {
    match Dataset::open(spec) {
        Ok(ds) => panic!("{spec} opened: {ds:?}"),
        Err(e) => e.to_string(),
    }
}

/// The error the batches end with.
fn stream_err(ds: &Dataset, batch: usize) -> String {
    let last = ds.batches(batch, None).last().expect("some batch");
    match last {
        Ok(_) => panic!("{} streamed without error", ds.name()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn npz_arrays_stream_like_numpy_wrote_them() -> TestResult {
    let dir = numpy_files();
    for archive in ["stored.npz", "deflated.npz"] {
        let path = dir.join(archive);
        for (name, _, shape) in ARRAYS {
            let raw = std::fs::read(dir.join(format!("raw/{name}.raw")))?;
            let ds = Dataset::open(&npz(&path, name)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ds.len(), shape[0], "{archive} {name}");
            assert_eq!(ds.sample_shape(), &shape[1..]);
            for batch in [1, 2, 3, 5, 64] {
                let (shapes, bytes) = stream(&ds, batch, None);
                assert_eq!(bytes, raw, "{archive} {name} batch {batch}");
                assert_eq!(shapes.len(), shape[0].div_ceil(batch));
                for (i, s) in shapes.iter().enumerate() {
                    let b = batch.min(shape[0] - i * batch);
                    assert_eq!(s[0], b, "{archive} {name} batch {batch} #{i}");
                    assert_eq!(&s[1..], &shape[1..]);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn dtypes_map_to_pare_types() -> TestResult {
    let path = numpy_files().join("deflated.npz");
    for (name, want) in [
        ("f32", DType::F32),
        ("f64", DType::F64),
        ("f16", DType::F16),
        ("i8", DType::I8),
        ("u8", DType::U8),
        ("i16", DType::I16),
        ("i32", DType::I32),
        ("i64", DType::I64),
        ("u16", DType::U16),
        ("u32", DType::U32),
        ("u64", DType::U64),
        ("bool", DType::Bool),
    ] {
        assert_eq!(Dataset::open(&npz(&path, name))?.dtype(), want);
    }
    // Values, not just bytes: numpy's arange(n) * 0.75 - 4.5.
    let ds = Dataset::open(&npz(&path, "f64"))?;
    let first = ds.batches(2, None).next().ok_or("no batch")??;
    assert_eq!(first.to_f64_vec()[..3], [-4.5, -3.75, -3.0]);
    Ok(())
}

#[test]
fn whole_arrays_read_like_numpy_wrote_them() -> TestResult {
    let dir = numpy_files();
    for archive in ["stored.npz", "deflated.npz"] {
        let arrays = read_npz(&dir.join(archive))?;
        let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = ARRAYS.iter().map(|a| a.0).collect();
        assert_eq!(names, want, "archive order");
        for ((name, t), (_, _, shape)) in arrays.iter().zip(ARRAYS) {
            assert_eq!(t.shape(), *shape);
            let raw = std::fs::read(dir.join(format!("raw/{name}.raw")))?;
            assert_eq!(t.to_le_bytes(), raw, "{archive} {name}");
        }
    }
    let t = read_npy(&dir.join("only.npy"))?;
    assert_eq!(t.shape(), [5, 2]);
    assert_eq!(
        t.as_slice::<f32>().ok_or("not f32")?,
        (0..10).map(|i| i as f32).collect::<Vec<_>>()
    );
    let bytes = std::fs::read(dir.join("only.npy"))?;
    assert_eq!(decode_npy(&bytes, "only.npy")?, t);
    Ok(())
}

#[test]
fn limits_and_reopening() -> TestResult {
    let ds = Dataset::open(&npz(&numpy_files().join("deflated.npz"), "f32"))?;
    let (shapes, bytes) = stream(&ds, 3, Some(4));
    assert_eq!(shapes, [vec![3, 2, 3], vec![1, 2, 3]]);
    let (_, all) = stream(&ds, 3, None);
    assert_eq!(bytes, all[..4 * 6 * 4], "the first 4 samples");
    assert_eq!(ds.batches(3, Some(0)).count(), 0);
    assert_eq!(stream(&ds, 2, Some(100)).1, all, "a limit past the end");
    // Each call streams afresh: calibration reads its data twice.
    assert_eq!(stream(&ds, 5, None).1, all);
    assert_eq!(ds.batches(3, Some(4)).size_hint(), (2, Some(2)));
    Ok(())
}

#[test]
fn one_array_archives_need_no_key() -> TestResult {
    let dir = numpy_files();
    let ds = Dataset::open(&DataSpec::parse(
        dir.join("one.npz").to_str().ok_or("path")?,
    )?)?;
    assert_eq!((ds.len(), ds.sample_shape()), (5, &[2][..]));
    let npy = Dataset::open(&DataSpec::parse(
        dir.join("only.npy").to_str().ok_or("path")?,
    )?)?;
    assert_eq!(stream(&npy, 2, None), stream(&ds, 2, None));

    let e = open_err(&DataSpec::Npz {
        path: dir.join("stored.npz"),
        key: None,
    });
    assert!(
        e.contains("stored.npz: holds 13 arrays; name one as FILE.npz:KEY (arrays: f32, f64,"),
        "{e}"
    );
    let e = open_err(&npz(&dir.join("stored.npz"), "x_test"));
    assert!(
        e.contains("stored.npz: array `x_test`: no array `x_test` (arrays: f32, f64, f16,"),
        "{e}"
    );
    Ok(())
}

#[test]
fn folders_hold_samples_and_batches() -> TestResult {
    let dir = numpy_files();
    let folder = DataSpec::parse(&format!("{}/", dir.join("folder").display()))?;
    assert!(matches!(folder, DataSpec::Dir { .. }));
    let opts = OpenOptions {
        sample_rank: Some(2),
    };
    let ds = Dataset::open_with(&folder, &opts)?;
    assert_eq!(ds.len(), 7, "1 + 1 + 4 + 1 samples");
    assert_eq!(ds.sample_shape(), [2, 3]);
    let raw = std::fs::read(dir.join("folder.raw"))?;
    for batch in 1..=8 {
        let (shapes, bytes) = stream(&ds, batch, None);
        assert_eq!(bytes, raw, "batch {batch}: samples in file-name order");
        assert_eq!(shapes.len(), 7usize.div_ceil(batch));
    }
    assert_eq!(stream(&ds, 4, Some(5)).1, raw[..5 * 6 * 4]);

    // Without a sample rank every file is one sample, so the shapes disagree.
    let e = open_err(&folder);
    assert!(e.contains("s01.npy") && e.contains("s00.npy"), "{e}");
    let e = Dataset::open_with(
        &folder,
        &OpenOptions {
            sample_rank: Some(0),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "s00.npy: shape [2, 3] has rank 2; expected one sample of rank 0 or a batch of rank 1"
        ),
        "{e}"
    );

    let same = DataSpec::Dir {
        path: dir.join("same"),
    };
    let ds = Dataset::open(&same)?;
    assert_eq!((ds.len(), ds.sample_shape()), (3, &[1, 3][..]));
    let ds = Dataset::open_with(
        &same,
        &OpenOptions {
            sample_rank: Some(1),
        },
    )?;
    assert_eq!(
        (ds.len(), ds.sample_shape()),
        (3, &[3][..]),
        "[1, 3] is a batch of one"
    );
    let all = ds.batches(8, None).next().ok_or("no batch")??;
    assert_eq!(all.to_f32_vec(), [0., 0., 0., 1., 1., 1., 2., 2., 2.]);

    let empty = scratch("empty_folder");
    let e = open_err(&DataSpec::Dir { path: empty });
    assert!(e.ends_with("holds no .npy files"), "{e}");
    Ok(())
}

#[test]
fn npz_rank_is_checked_when_a_sample_rank_is_given() -> TestResult {
    let path = numpy_files().join("stored.npz");
    let e = Dataset::open_with(
        &npz(&path, "f64"),
        &OpenOptions {
            sample_rank: Some(3),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("array `f64`: shape [5, 4] has rank 2; expected rank 4"),
        "{e}"
    );
    let e = open_err(&DataSpec::Npy {
        path: numpy_files().join("missing.npy"),
    });
    assert!(e.contains("missing.npy: cannot read"), "{e}");
    let scalar = scratch("scalar").join("s.npy");
    std::fs::write(&scalar, encode_npy(&Tensor::scalar(1.0f32))?)?;
    let e = open_err(&DataSpec::Npy { path: scalar });
    assert!(e.contains("s.npy: a scalar array has no samples"), "{e}");
    Ok(())
}

#[test]
fn specs_parse() -> TestResult {
    let p = |s: &str| DataSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(
        p("d/data.npz:x_test"),
        DataSpec::Npz {
            path: "d/data.npz".into(),
            key: Some("x_test".into())
        }
    );
    assert_eq!(
        p("D.NPZ:a:b"),
        DataSpec::Npz {
            path: "D.NPZ".into(),
            key: Some("a:b".into())
        }
    );
    assert_eq!(
        p("data.npz"),
        DataSpec::Npz {
            path: "data.npz".into(),
            key: None
        }
    );
    assert_eq!(
        p("x.npy"),
        DataSpec::Npy {
            path: "x.npy".into()
        }
    );
    assert_eq!(
        p("samples/"),
        DataSpec::Dir {
            path: "samples/".into()
        }
    );
    let dir = numpy_files().join("folder");
    assert!(matches!(
        p(dir.to_str().ok_or("path")?),
        DataSpec::Dir { .. }
    ));
    assert_eq!(p("d/data.npz:x_test").to_string(), "d/data.npz:x_test");
    for bad in ["", "data.csv", "data.npz.gz"] {
        let e = DataSpec::parse(bad).unwrap_err().to_string();
        assert!(
            e.contains("expected FILE.npz") || e.contains("empty"),
            "{e}"
        );
    }
    Ok(())
}

#[test]
fn unsupported_layouts_fail_naming_the_file() -> TestResult {
    let dir = numpy_files();
    let cases = [
        ("fortran.npy", "Fortran-order arrays are not supported"),
        ("bigendian.npy", "unsupported .npy dtype `>f4`"),
        ("struct.npy", "structured arrays are not tensors"),
    ];
    for (file, want) in cases {
        let path = dir.join(file);
        let e = open_err(&DataSpec::Npy { path: path.clone() });
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains(want), "{file}: {e}");
        let e = read_npy(&path).unwrap_err().to_string();
        assert!(e.contains(want), "{file}: {e}");
    }
    Ok(())
}

/// Writes an `.npz` with the zip crate: `(name, bytes, deflate)` per entry.
fn write_npz(path: &Path, entries: &[(&str, Vec<u8>, bool)]) -> TestResult {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    for (name, bytes, deflate) in entries {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(format!("{name}.npy"), opts)?;
        zip.write_all(bytes)?;
    }
    zip.finish()?;
    Ok(())
}

/// A deterministic f32 [rows, 16] array that deflate cannot squeeze to nothing.
fn noisy(rows: usize) -> Tensor {
    let mut s = 0x9e37_79b9u32;
    let v = (0..rows * 16)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 1000) as f32 / 7.0
        })
        .collect();
    Tensor::from_vec(vec![rows, 16], v).unwrap()
}

fn flip_byte_at(path: &Path, at: usize) -> std::io::Result<()> {
    let mut bytes = std::fs::read(path)?;
    bytes[at] ^= 0x5a;
    std::fs::write(path, bytes)
}

#[test]
fn broken_npy_files_fail_clearly() -> TestResult {
    let dir = scratch("broken_npy");
    let good = encode_npy(&noisy(10))?;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.npy",
            good[..good.len() - 5].to_vec(),
            "header declares shape [10, 16] of <f4 (640 data bytes) but the file holds 635 data bytes",
        ),
        (
            "long.npy",
            [good.clone(), vec![0; 4]].concat(),
            "but the file holds 644 data bytes",
        ),
        ("cut_header.npy", good[..20].to_vec(), "file ends inside the header"),
        ("not_npy.npy", b"PK\x03\x04 not numpy at all".to_vec(), "missing the \\x93NUMPY magic"),
        (
            "huge_header.npy",
            [&b"\x93NUMPY\x02\x00"[..], &u32::MAX.to_le_bytes()].concat(),
            "header text of 4294967295 bytes",
        ),
        ("version9.npy", b"\x93NUMPY\x09\x00\x10\x00".to_vec(), "unknown format version 9"),
        ("empty.npy", Vec::new(), "file ends inside the header"),
    ];
    for (name, bytes, want) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        for e in [
            open_err(&DataSpec::Npy { path: path.clone() }),
            read_npy(&path).unwrap_err().to_string(),
            decode_npy(&bytes, &path.display().to_string())
                .unwrap_err()
                .to_string(),
        ] {
            assert!(e.starts_with(&path.display().to_string()), "{e}");
            assert!(e.contains(want), "{name}: {e}");
        }
    }
    Ok(())
}

#[test]
fn broken_npz_files_fail_clearly() -> TestResult {
    let dir = scratch("broken_npz");
    let t = noisy(200);
    let npy = encode_npy(&t)?;

    // Cut in half: the central directory is gone.
    let stored = dir.join("stored.npz");
    write_npz(&stored, &[("x", npy.clone(), false)])?;
    let bytes = std::fs::read(&stored)?;
    let cut = dir.join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2])?;
    let e = open_err(&npz(&cut, "x"));
    assert!(
        e.contains("cut.npz") && e.contains("not a valid .npz (zip) archive"),
        "{e}"
    );
    assert!(read_npz(&cut).is_err());

    // A flipped data byte of a stored entry: caught by the CRC once read whole.
    let data_at = bytes
        .windows(64)
        .position(|w| w == &npy[npy.len() - 64..])
        .ok_or("stored data in the archive")?;
    flip_byte_at(&stored, data_at)?;
    let ds = Dataset::open(&npz(&stored, "x"))?;
    let e = stream_err(&ds, 64);
    assert!(
        e.contains("stored.npz: array `x`") && e.contains("CRC-32 mismatch"),
        "{e}"
    );
    let e = read_npz(&stored).unwrap_err().to_string();
    assert!(e.contains("stored.npz: array `x`"), "{e}");

    // Damaged deflate data: an inflate error or a CRC mismatch, never garbage.
    let deflated = dir.join("deflated.npz");
    write_npz(&deflated, &[("x", npy.clone(), true)])?;
    let len = std::fs::metadata(&deflated)?.len() as usize;
    flip_byte_at(&deflated, len / 2)?;
    let e = match Dataset::open(&npz(&deflated, "x")) {
        Ok(ds) => stream_err(&ds, 16),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("deflated.npz: array `x`: truncated or corrupt data after"),
        "{e}"
    );

    // A header that declares more rows than the entry holds fails at open.
    let mut lying = encode_npy(&noisy(3))?;
    let ten = encode_npy(&noisy(10))?;
    let (h3, h10) = (lying.len() - 3 * 64, ten.len() - 10 * 64);
    lying.splice(..h3, ten[..h10].iter().copied());
    let path = dir.join("lying.npz");
    write_npz(&path, &[("x", lying.clone(), false), ("y", lying, true)])?;
    for key in ["x", "y"] {
        let e = open_err(&npz(&path, key));
        assert!(
            e.contains(&format!("lying.npz: array `{key}`: header declares shape [10, 16] of <f4 (640 data bytes) but the archive entry holds 192 data bytes")),
            "{e}"
        );
    }
    Ok(())
}

#[test]
fn files_changed_after_opening_are_caught() -> TestResult {
    let dir = scratch("changed");
    std::fs::write(dir.join("a.npy"), encode_npy(&noisy(2))?)?;
    std::fs::write(dir.join("b.npy"), encode_npy(&noisy(2))?)?;
    let spec = DataSpec::Dir { path: dir.clone() };
    let ds = Dataset::open_with(
        &spec,
        &OpenOptions {
            sample_rank: Some(1),
        },
    )?;
    assert_eq!(ds.len(), 4);
    std::fs::write(dir.join("b.npy"), encode_npy(&noisy(3))?)?;
    let e = stream_err(&ds, 3);
    assert!(
        e.contains("b.npy: the file changed since the dataset was opened"),
        "{e}"
    );
    Ok(())
}

#[test]
fn zero_batch_is_an_error() -> TestResult {
    let ds = Dataset::open(&npz(&numpy_files().join("one.npz"), "only"))?;
    let r: Vec<Result<Tensor, NpyError>> = ds.batches(0, None).collect();
    assert_eq!(r.len(), 1);
    assert!(r[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("batch size must be at least 1"));
    Ok(())
}

#[test]
fn encoded_npy_files_read_back_in_numpy() -> TestResult {
    let dir = scratch("encode");
    let tensors: Vec<(&str, Tensor)> = vec![
        (
            "f32",
            Tensor::from_vec(vec![2, 3], vec![0.5f32, -1.0, 2.0, 3.25, 1e-8, -0.0])?,
        ),
        (
            "f16",
            Tensor::from_vec(
                vec![2],
                vec![half::f16::from_f32(1.5), half::f16::from_f32(-2.0)],
            )?,
        ),
        (
            "f64",
            Tensor::from_vec(vec![1, 2], vec![1.0f64 / 3.0, -7.0])?,
        ),
        ("i8", Tensor::from_vec(vec![3], vec![-128i8, 0, 127])?),
        ("u8", Tensor::from_vec(vec![2], vec![0u8, 255])?),
        ("i16", Tensor::from_vec(vec![2], vec![-300i16, 300])?),
        ("i32", Tensor::from_vec(vec![2], vec![i32::MIN, i32::MAX])?),
        ("i64", Tensor::from_vec(vec![2], vec![i64::MIN, 5])?),
        ("u16", Tensor::from_vec(vec![1], vec![65535u16])?),
        ("u32", Tensor::from_vec(vec![1], vec![u32::MAX])?),
        ("u64", Tensor::from_vec(vec![1], vec![u64::MAX])?),
        ("bool", Tensor::from_vec(vec![3], vec![true, false, true])?),
        ("scalar", Tensor::scalar(4.0f32)),
    ];
    for (name, t) in &tensors {
        std::fs::write(dir.join(format!("{name}.npy")), encode_npy(t)?)?;
    }
    let names: Vec<String> = tensors.iter().map(|(n, _)| format!("'{n}'")).collect();
    let out = run_python(
        &format!(
            "import numpy as np\nfor n in [{}]:\n    a = np.load(n + '.npy')\n    a.tofile(n + '.raw')\n    print(n, a.dtype.str, list(a.shape))",
            names.join(", ")
        ),
        &dir,
    );
    for ((name, t), line) in tensors.iter().zip(out.lines()) {
        let descr = pare_npy::descr_of(t.dtype());
        assert_eq!(
            line,
            format!("{name} {descr} {:?}", t.shape()),
            "numpy's view"
        );
        assert_eq!(
            std::fs::read(dir.join(format!("{name}.raw")))?,
            t.to_le_bytes()
        );
        assert_eq!(&read_npy(&dir.join(format!("{name}.npy")))?, t);
    }
    Ok(())
}
