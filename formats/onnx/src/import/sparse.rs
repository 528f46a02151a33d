//! `sparse_initializer`s (ONNX SparseTensorProto, COO) → pare weights: the
//! non-zero values are placed at their indices (linearized `[NNZ]` or
//! coordinates `[NNZ, rank]`, any signed integer type onnxruntime reads), and the
//! weight is kept in pare's sparse store form when that is smaller.
//!
//! The dense size is checked against pare's cap on computed tensors before
//! anything is allocated, since a sparse tensor's dims are not backed by bytes.

use crate::error::ErrorKind;
use crate::external::ExternalFiles;
use crate::proto::SparseTensorProto;
use crate::tensor::{checked_elements, decode_weight};
use pare_ir::{DType, Tensor, TensorType, Weight};

/// The name and weight of one sparse initializer.
pub(super) fn decode_sparse(
    sp: &SparseTensorProto,
    ext: &mut ExternalFiles,
) -> Result<(String, Weight), ErrorKind> {
    let values = sp
        .values
        .as_ref()
        .ok_or_else(|| ErrorKind::tensor("", "sparse initializer without values"))?;
    let name = values.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(ErrorKind::tensor(
            "",
            "sparse initializer whose values have no name",
        ));
    }
    let bad = |msg: String| ErrorKind::tensor(&name, format!("sparse initializer: {msg}"));
    let n = checked_elements(&name, &sp.dims)?;
    if n > pare_ir::MAX_ELEMENTS {
        return Err(bad(format!(
            "dims {:?} hold {n} elements, more than pare's limit of {}",
            sp.dims,
            pare_ir::MAX_ELEMENTS
        )));
    }
    let vals = decode_weight(values, &name, ext)?;
    let vshape = vals.ty.fixed_shape().unwrap_or_default();
    if vshape.len() != 1 {
        return Err(bad(format!("values must be 1-D, got dims {vshape:?}")));
    }
    let nnz = vshape[0] as usize;
    let indices = sp
        .indices
        .as_ref()
        .ok_or_else(|| bad("no indices".into()))?;
    let idx_t = decode_weight(indices, &format!("{name} (indices)"), ext)?.tensor()?;
    fn widen<T: pare_ir::Element + Copy + Into<i64>>(t: &Tensor) -> Option<Vec<i64>> {
        t.as_slice::<T>()
            .map(|v| v.iter().map(|&x| x.into()).collect())
    }
    let idx = match idx_t.dtype() {
        DType::I8 => widen::<i8>(&idx_t),
        DType::I16 => widen::<i16>(&idx_t),
        DType::I32 => widen::<i32>(&idx_t),
        DType::I64 => widen::<i64>(&idx_t),
        _ => None,
    }
    .ok_or_else(|| {
        bad(format!(
            "indices must be a signed integer type, got {}",
            idx_t.dtype()
        ))
    })?;
    let rank = sp.dims.len();
    let linear: Vec<i64> = match idx_t.shape() {
        [k] if *k == nnz => idx,
        [k, r] if *k == nnz && *r == rank => idx
            .chunks_exact(rank.max(1))
            .map(|c| {
                c.iter()
                    .zip(&sp.dims)
                    .try_fold(0i64, |acc, (&i, &d)| {
                        (0..d).contains(&i).then(|| acc * d + i)
                    })
                    .unwrap_or(-1)
            })
            .collect(),
        s => {
            return Err(bad(format!(
                "indices of shape {s:?} fit neither [{nnz}] nor [{nnz}, {rank}]"
            )))
        }
    };
    let mut prev = -1i64;
    for (k, &i) in linear.iter().enumerate() {
        if i < 0 || i as usize >= n {
            return Err(bad(format!(
                "index {k} lies outside the {n} elements of dims {:?}",
                sp.dims
            )));
        }
        if i <= prev {
            return Err(bad(format!("indices must ascend; index {k} does not")));
        }
        prev = i;
    }
    let v = vals.tensor()?;
    let size = v.dtype().size_bytes();
    let src = v.to_le_bytes();
    let mut dense = vec![0u8; n * size];
    for (k, &i) in linear.iter().enumerate() {
        let i = i as usize;
        dense[i * size..(i + 1) * size].copy_from_slice(&src[k * size..(k + 1) * size]);
    }
    let shape: Vec<usize> = sp.dims.iter().map(|&d| d as usize).collect();
    let t = Tensor::from_le_bytes(v.dtype(), shape, &dense)?;
    let mut ty = TensorType::fixed(
        v.dtype(),
        &sp.dims.iter().map(|&d| d as u64).collect::<Vec<_>>(),
    );
    ty.quant = vals.ty.quant.clone();
    let w = Weight::with_type(ty, &t)?;
    let w = match w.sparse_len() {
        Some(s) if s < w.bytes().len() => w.to_sparse()?,
        _ => w,
    };
    Ok((name, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::TensorProto;

    const FLOAT: i32 = 1;
    const INT16: i32 = 5;
    const INT64: i32 = 7;

    fn tensor(name: &str, code: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
        TensorProto {
            name: Some(name.into()),
            data_type: Some(code),
            dims: dims.to_vec(),
            raw_data: Some(raw),
            ..TensorProto::default()
        }
    }

    fn sparse(
        dims: &[i64],
        vals: &[f32],
        idx_code: i32,
        idx_dims: &[i64],
        idx: &[i64],
    ) -> SparseTensorProto {
        let width = match idx_code {
            INT16 => 2,
            FLOAT => 4,
            _ => 8,
        };
        SparseTensorProto {
            values: Some(tensor(
                "w",
                FLOAT,
                &[vals.len() as i64],
                vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )),
            indices: Some(tensor(
                "w_idx",
                idx_code,
                idx_dims,
                idx.iter()
                    .flat_map(|i| i.to_le_bytes()[..width].to_vec())
                    .collect(),
            )),
            dims: dims.to_vec(),
        }
    }

    fn decode(sp: &SparseTensorProto) -> Result<Vec<f32>, String> {
        let (name, w) =
            decode_sparse(sp, &mut ExternalFiles::new(None)).map_err(|e| e.to_string())?;
        assert_eq!(name, "w");
        Ok(w.tensor().unwrap().as_slice::<f32>().unwrap().to_vec())
    }

    #[test]
    fn linear_and_coordinate_indices_place_the_values() {
        let want = vec![0.0, 1.5, 0.0, 0.0, 0.0, -2.0];
        let sp = sparse(&[2, 3], &[1.5, -2.0], INT16, &[2], &[1, 5]);
        assert_eq!(decode(&sp).unwrap(), want);
        let sp = sparse(&[2, 3], &[1.5, -2.0], INT64, &[2, 2], &[0, 1, 1, 2]);
        assert_eq!(decode(&sp).unwrap(), want);
    }

    #[test]
    fn bad_sparse_initializers_are_errors_naming_them() {
        let cases = [
            (
                sparse(&[2, 3], &[1.0, 2.0], INT64, &[2], &[1, 6]),
                "index 1 lies outside the 6 elements",
            ),
            (
                sparse(&[2, 3], &[1.0, 2.0], INT64, &[2], &[4, 1]),
                "indices must ascend; index 1 does not",
            ),
            (
                sparse(&[2, 3], &[1.0, 2.0], INT64, &[2, 2], &[0, 1, 2, 0]),
                "index 1 lies outside",
            ),
            (
                sparse(&[2, 3], &[1.0, 2.0], INT64, &[3], &[0, 1, 2]),
                "fit neither [2] nor [2, 2]",
            ),
            (
                sparse(&[1 << 20, 1 << 20], &[1.0], INT64, &[1], &[0]),
                "more than pare's limit",
            ),
            (
                sparse(&[2, 3], &[1.0], FLOAT, &[1], &[0]),
                "signed integer type",
            ),
        ];
        for (sp, want) in cases {
            let e = decode(&sp).unwrap_err();
            assert!(e.contains(want) && e.contains('w'), "`{e}` lacks `{want}`");
        }
    }
}
