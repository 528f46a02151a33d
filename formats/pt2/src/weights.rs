//! Turns a weight file's raw storage bytes plus its tensor meta (dtype, sizes,
//! strides, storage offset) into a contiguous pare [`Weight`], gathering
//! non-contiguous views and checking every extent against the bytes present.

use crate::schema::{dtype_code_name, dtype_of_code, sym_size, SymSize, TensorMeta};
use pare_ir::{TensorType, Weight, WeightBytes};

/// Builds a weight from `meta` over `storage`; errors say what disagreed.
pub fn weight_from_storage(meta: &TensorMeta, storage: &[u8]) -> Result<Weight, String> {
    let dtype = dtype_of_code(meta.dtype)
        .ok_or_else(|| format!("unsupported dtype {}", dtype_code_name(meta.dtype)))?;
    let sizes = fixed_list(&meta.sizes, "sizes")?;
    let strides = if meta.strides.is_empty() && !sizes.is_empty() {
        contiguous_strides(&sizes)
    } else {
        fixed_list(&meta.strides, "strides")?
    };
    if strides.len() != sizes.len() {
        return Err(format!(
            "{} strides for {} sizes",
            strides.len(),
            sizes.len()
        ));
    }
    let offset = match &meta.storage_offset {
        None => 0,
        Some(j) => match sym_size(j) {
            Some(SymSize::Int(n)) if n >= 0 => n,
            _ => return Err(format!("storage offset {j} is not a non-negative integer")),
        },
    };
    if sizes.iter().any(|&s| s < 0) {
        return Err(format!("negative size in {sizes:?}"));
    }
    if strides.iter().any(|&s| s < 0) {
        return Err(format!("negative stride in {strides:?}"));
    }
    let elem = dtype.size_bytes();
    let dims: Vec<usize> = sizes
        .iter()
        .map(|&s| usize::try_from(s).map_err(|_| format!("size {s} too large")))
        .collect::<Result<_, _>>()?;
    let count = pare_ir::checked_product(&dims).ok_or("element count overflows")?;
    let ty = TensorType::fixed(dtype, &sizes.iter().map(|&s| s as u64).collect::<Vec<_>>());
    let have = storage.len() / elem;
    if count == 0 {
        return Weight::new(ty, WeightBytes::Owned(Vec::new().into())).map_err(|e| e.to_string());
    }
    // Highest element index the view touches, checked before anything is allocated.
    let mut last: u128 = offset as u128;
    for (&s, &st) in sizes.iter().zip(&strides) {
        // Saturating: absurd sizes must fail the check below, not overflow.
        last = last.saturating_add((s as u128 - 1).saturating_mul(st as u128));
    }
    if last >= have as u128 {
        return Err(format!(
            "sizes {sizes:?}, strides {strides:?} and storage offset {offset} need {} bytes of {}, the file has {}",
            (last + 1) * elem as u128,
            dtype.name(),
            storage.len()
        ));
    }
    let contiguous = strides == contiguous_strides(&sizes);
    let bytes: Vec<u8> = if contiguous {
        let start = offset as usize * elem;
        storage[start..start + count * elem].to_vec()
    } else {
        gather(storage, &dims, &strides, offset as usize, elem)
    };
    Weight::new(ty, WeightBytes::Owned(bytes.into())).map_err(|e| e.to_string())
}

/// Row-major strides of `sizes`.
fn contiguous_strides(sizes: &[i64]) -> Vec<i64> {
    let mut out = vec![1i64; sizes.len()];
    for i in (0..sizes.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1].saturating_mul(sizes[i + 1].max(1));
    }
    out
}

/// Copies a strided view into row-major order (bounds already checked).
fn gather(storage: &[u8], dims: &[usize], strides: &[i64], offset: usize, elem: usize) -> Vec<u8> {
    let count: usize = dims.iter().product();
    let mut out = Vec::with_capacity(count * elem);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..count {
        let pos = offset
            + idx
                .iter()
                .zip(strides)
                .map(|(&i, &s)| i * s as usize)
                .sum::<usize>();
        out.extend_from_slice(&storage[pos * elem..(pos + 1) * elem]);
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn fixed_list(list: &[serde_json::Value], what: &str) -> Result<Vec<i64>, String> {
    list.iter()
        .map(|j| match sym_size(j) {
            Some(SymSize::Int(n)) => Ok(n),
            _ => Err(format!("{what} entry {j} is not a concrete integer")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(sizes: &[i64], strides: &[i64], offset: i64) -> TensorMeta {
        TensorMeta {
            dtype: 7,
            sizes: sizes.iter().map(|&s| json!({ "as_int": s })).collect(),
            strides: strides.iter().map(|&s| json!({ "as_int": s })).collect(),
            storage_offset: Some(json!({ "as_int": offset })),
        }
    }

    fn storage(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
    }

    #[test]
    fn strided_view_is_gathered() -> Result<(), Box<dyn std::error::Error>> {
        // A transposed 2x3 view of a 3x2 storage, starting one element in.
        let w = weight_from_storage(&meta(&[2, 3], &[1, 2], 1), &storage(7))?;
        let t = w.tensor()?;
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_f32_vec(), vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        Ok(())
    }

    #[test]
    fn contiguous_with_offset() -> Result<(), Box<dyn std::error::Error>> {
        let w = weight_from_storage(&meta(&[2], &[1], 3), &storage(5))?;
        assert_eq!(w.tensor()?.to_f32_vec(), vec![3.0, 4.0]);
        Ok(())
    }

    #[test]
    fn sizes_beyond_bytes_are_rejected() {
        let e = weight_from_storage(&meta(&[4, 4], &[4, 1], 0), &storage(15)).unwrap_err();
        assert!(e.contains("need 64 bytes"), "{e}");
        let huge = meta(&[1 << 40, 1 << 40], &[1 << 40, 1], 0);
        assert!(weight_from_storage(&huge, &storage(4)).is_err());
        // Extents whose sum overflows even 128 bits are an error, not a panic.
        let absurd = meta(&[1 << 62; 6], &[1 << 62; 6], 0);
        assert!(weight_from_storage(&absurd, &storage(4)).is_err());
    }

    #[test]
    fn unsupported_dtype_is_named() {
        let mut m = meta(&[1], &[1], 0);
        m.dtype = 13;
        let e = weight_from_storage(&m, &storage(1)).unwrap_err();
        assert!(e.contains("bfloat16"), "{e}");
    }
}
