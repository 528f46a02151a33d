//! Bounded memory: an array whose header declares 10^8 samples (6.4 GB of f32,
//! far past pare's 2^28-element limit on any one tensor) is streamed two batches
//! at a time without reading or allocating the rest. The files are sparse: only
//! the first rows and the archive's directory occupy disk.
//!
//! Alone in its test binary so that the process's peak RSS measures this test.

mod support;

use pare_ir::{DType, Tensor};
use pare_npy::{encode_header, read_npy, read_npz, DataSpec, Dataset};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

/// What a test returns: any error fails it, with its message.
type TestResult = Result<(), Box<dyn std::error::Error>>;

const ROWS: usize = 100_000_000;
const COLS: usize = 16;
const BATCH: usize = 64;

/// The rows that really hold data: the first two batches.
fn head() -> Vec<f32> {
    (0..2 * BATCH * COLS).map(|i| i as f32 * 0.5).collect()
}

/// Header and the first rows of the array; the rest of its data is a hole.
fn npy_head() -> Result<(Vec<u8>, u64), Box<dyn std::error::Error>> {
    let mut bytes = encode_header(DType::F32, &[ROWS, COLS])?;
    let data_len = (ROWS * COLS * 4) as u64;
    let total = bytes.len() as u64 + data_len;
    bytes.extend(head().iter().flat_map(|v| v.to_le_bytes()));
    Ok((bytes, total))
}

/// Writes a sparse `.npz` holding one stored entry `x.npy` of [ROWS, COLS] f32,
/// in zip64 form as its size needs. The CRC field is 0: nothing reads that far.
fn write_sparse_npz(path: &Path) -> TestResult {
    let (head, size) = npy_head()?;
    let name = b"x.npy";
    let zip64_extra = |fields: &[u64]| {
        let mut e = Vec::new();
        e.extend(1u16.to_le_bytes());
        e.extend(((fields.len() * 8) as u16).to_le_bytes());
        for f in fields {
            e.extend(f.to_le_bytes());
        }
        e
    };
    let mut local = Vec::new();
    local.extend(0x0403_4b50u32.to_le_bytes());
    local.extend(45u16.to_le_bytes()); // version needed: zip64
    local.extend(0u16.to_le_bytes()); // flags
    local.extend(0u16.to_le_bytes()); // stored
    local.extend(0u16.to_le_bytes()); // time
    local.extend(33u16.to_le_bytes()); // date: 1980-01-01
    local.extend(0u32.to_le_bytes()); // crc
    local.extend(u32::MAX.to_le_bytes()); // compressed size: in zip64 extra
    local.extend(u32::MAX.to_le_bytes()); // size: in zip64 extra
    local.extend((name.len() as u16).to_le_bytes());
    let extra = zip64_extra(&[size, size]);
    local.extend((extra.len() as u16).to_le_bytes());
    local.extend(name);
    local.extend(&extra);

    let cd_offset = local.len() as u64 + size;
    let mut cd = Vec::new();
    cd.extend(0x0201_4b50u32.to_le_bytes());
    cd.extend(45u16.to_le_bytes()); // made by
    cd.extend(45u16.to_le_bytes()); // needed
    cd.extend(0u16.to_le_bytes());
    cd.extend(0u16.to_le_bytes());
    cd.extend(0u16.to_le_bytes());
    cd.extend(33u16.to_le_bytes());
    cd.extend(0u32.to_le_bytes());
    cd.extend(u32::MAX.to_le_bytes());
    cd.extend(u32::MAX.to_le_bytes());
    cd.extend((name.len() as u16).to_le_bytes());
    cd.extend((extra.len() as u16).to_le_bytes());
    cd.extend(0u16.to_le_bytes()); // comment
    cd.extend(0u16.to_le_bytes()); // disk
    cd.extend(0u16.to_le_bytes()); // internal attributes
    cd.extend(0u32.to_le_bytes()); // external attributes
    cd.extend(0u32.to_le_bytes()); // local header at 0
    cd.extend(name);
    cd.extend(&extra);

    let eocd64_offset = cd_offset + cd.len() as u64;
    let mut tail = Vec::new();
    tail.extend(0x0606_4b50u32.to_le_bytes());
    tail.extend(44u64.to_le_bytes());
    tail.extend(45u16.to_le_bytes());
    tail.extend(45u16.to_le_bytes());
    tail.extend(0u32.to_le_bytes());
    tail.extend(0u32.to_le_bytes());
    tail.extend(1u64.to_le_bytes());
    tail.extend(1u64.to_le_bytes());
    tail.extend((cd.len() as u64).to_le_bytes());
    tail.extend(cd_offset.to_le_bytes());
    tail.extend(0x0706_4b50u32.to_le_bytes());
    tail.extend(0u32.to_le_bytes());
    tail.extend(eocd64_offset.to_le_bytes());
    tail.extend(1u32.to_le_bytes());
    tail.extend(0x0605_4b50u32.to_le_bytes());
    tail.extend(0u16.to_le_bytes());
    tail.extend(0u16.to_le_bytes());
    tail.extend(1u16.to_le_bytes());
    tail.extend(1u16.to_le_bytes());
    tail.extend((cd.len() as u32).to_le_bytes());
    tail.extend(u32::MAX.to_le_bytes()); // cd offset: in the zip64 record
    tail.extend(0u16.to_le_bytes());

    let mut f = File::create(path)?;
    f.write_all(&local)?;
    f.write_all(&head)?;
    // Seeking past the end leaves a hole: the file takes a few KB of disk.
    f.seek(SeekFrom::Start(cd_offset))?;
    f.write_all(&cd)?;
    f.write_all(&tail)?;
    Ok(())
}

fn write_sparse_npy(path: &Path) -> TestResult {
    let (head, size) = npy_head()?;
    let mut f = File::create(path)?;
    f.write_all(&head)?;
    f.set_len(size)?;
    Ok(())
}

/// Peak resident memory of this process so far, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn huge_arrays_stream_two_batches_without_reading_the_rest() -> TestResult {
    let dir = support::scratch("large");
    let npz = dir.join("huge.npz");
    let npy = dir.join("huge.npy");
    write_sparse_npz(&npz)?;
    write_sparse_npy(&npy)?;
    let start = Instant::now();
    let specs = [
        DataSpec::Npz {
            path: npz.clone(),
            key: Some("x".into()),
        },
        DataSpec::Npy { path: npy.clone() },
    ];
    for spec in &specs {
        let ds = Dataset::open(spec).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ds.len(), ROWS, "from the header alone");
        assert_eq!(ds.sample_shape(), [COLS]);
        let batches: Vec<Tensor> = ds
            .batches(BATCH, None)
            .take(2)
            .map(|b| b.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let got: Vec<f32> = batches.iter().flat_map(|b| b.to_f32_vec()).collect();
        assert_eq!(got, head(), "{spec}");
        assert_eq!(batches[1].shape(), [BATCH, COLS]);
        // With a limit the iterator ends by itself.
        assert_eq!(ds.batches(BATCH, Some(3 * BATCH)).count(), 3);
    }
    // Whole-array readers refuse instead of allocating 6.4 GB.
    let e = read_npz(&npz).unwrap_err().to_string();
    assert!(e.contains("huge.npz: array `x`: tensor too large"), "{e}");
    let e = read_npy(&npy).unwrap_err().to_string();
    assert!(e.contains("tensor too large"), "{e}");

    let elapsed = start.elapsed();
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
    if let Some(peak) = peak_rss() {
        assert!(
            peak < 256 << 20,
            "peak RSS {} MiB: the array was read or allocated whole",
            peak >> 20
        );
    }
    Ok(())
}
