//! The `.npy` header: read from any byte stream (a file, a zip entry being
//! inflated) without reading past it, and written for [`crate::encode_npy`].
//!
//! The text is parsed by `npyz`; the fixed-size preamble is read here first so
//! that a corrupt length field cannot make us allocate gigabytes for the text.

use crate::error::{io_err, ErrorKind};
use npyz::WriterBuilder;
use pare_ir::DType;
use std::io::{Cursor, Read};

/// Longest header text accepted. numpy writes a few hundred bytes (it pads to 64)
/// and refuses to read headers over 10,000 bytes by default; 64 KiB leaves room.
const MAX_HEADER_TEXT: usize = 64 * 1024;

/// What a `.npy` header declares.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub dtype: DType,
    /// The descriptor as written (`<f4`, `|u1`, ...), for messages.
    pub descr: String,
    pub shape: Vec<u64>,
    /// Bytes before the data block: magic, version, length field and text.
    pub len: u64,
}

impl Header {
    /// Size of the data block the header declares; `None` on overflow.
    pub fn data_bytes(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(self.dtype.size_bytes() as u64, |n, &d| n.checked_mul(d))
    }

    /// Checks that a container holding `total` bytes (header included) holds
    /// exactly the declared data: the guard before anything is allocated.
    pub fn check_size(&self, total: u64, container: &'static str) -> Result<(), ErrorKind> {
        let expected = self
            .data_bytes()
            .ok_or_else(|| ErrorKind::Header(format!("shape {:?} overflows", self.shape)))?;
        let actual = total.saturating_sub(self.len);
        if expected != actual {
            return Err(ErrorKind::SizeMismatch {
                shape: self.shape.clone(),
                descr: self.descr.clone(),
                expected,
                actual,
                container,
            });
        }
        Ok(())
    }
}

/// Maps a little-endian (or byte-order-free) descriptor to a pare dtype.
pub fn dtype_of(descr: &str) -> Result<DType, ErrorKind> {
    Ok(match descr {
        "<f4" => DType::F32,
        "<f2" => DType::F16,
        "<f8" => DType::F64,
        "|i1" | "<i1" => DType::I8,
        "<i2" => DType::I16,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" | "<u1" => DType::U8,
        "<u2" => DType::U16,
        "<u4" => DType::U32,
        "<u8" => DType::U64,
        "|b1" => DType::Bool,
        other => return Err(ErrorKind::Dtype(other.to_string())),
    })
}

/// The descriptor numpy uses for a pare dtype.
pub fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

/// Refuses a `'shape'` whose dims multiply past 64 bits before npyz parses the
/// header: npyz multiplies them unchecked, for the element count and for the strides
/// (a panic in debug builds, a wrapped count in release ones). Zero dims are skipped:
/// the strides of `(0, 2**40, 2**40)` overflow although it holds no element. Dims
/// that are not decimal integers are left to npyz's parser to reject.
fn check_element_count(text: &[u8]) -> Result<(), ErrorKind> {
    let text = String::from_utf8_lossy(text);
    let Some(key) = text.find("'shape'").or_else(|| text.find("\"shape\"")) else {
        return Ok(());
    };
    let rest = &text[key..];
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return Ok(());
    };
    if close < open {
        return Ok(());
    }
    let mut count: u64 = 1;
    for dim in rest[open + 1..close].split(',').map(str::trim) {
        let digits = dim.trim_end_matches(['L', 'l']);
        if digits.is_empty() {
            continue;
        }
        let Ok(d) = digits.parse::<u64>() else {
            return Ok(());
        };
        let d = d.max(1);
        count = count.checked_mul(d).ok_or_else(|| {
            ErrorKind::Header(format!(
                "shape {}: its dims multiply past 64 bits",
                &rest[open..=close]
            ))
        })?;
    }
    Ok(())
}

/// Reads a header and leaves `r` at the first data byte. C order only.
pub fn read_header(r: &mut impl Read) -> Result<Header, ErrorKind> {
    let eof = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            ErrorKind::Header("file ends inside the header".into())
        } else {
            io_err(e)
        }
    };
    let mut pre = vec![0u8; 8];
    r.read_exact(&mut pre).map_err(eof)?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(ErrorKind::Header(
            "not a .npy file (missing the \\x93NUMPY magic)".into(),
        ));
    }
    let text_len = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(eof)?;
            pre.extend_from_slice(&b);
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(eof)?;
            pre.extend_from_slice(&b);
            u32::from_le_bytes(b) as usize
        }
        v => return Err(ErrorKind::Header(format!("unknown format version {v}"))),
    };
    if text_len > MAX_HEADER_TEXT {
        return Err(ErrorKind::Header(format!(
            "header text of {text_len} bytes (pare reads at most {MAX_HEADER_TEXT})"
        )));
    }
    let pre_len = pre.len();
    pre.resize(pre_len + text_len, 0);
    r.read_exact(&mut pre[pre_len..]).map_err(eof)?;
    check_element_count(&pre[pre_len..])?;
    let header = npyz::NpyHeader::from_reader(Cursor::new(&pre))
        .map_err(|e| ErrorKind::Header(e.to_string()))?;
    let descr = match header.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(ErrorKind::Dtype(format!(
                "{other:?} (structured arrays are not tensors)"
            )))
        }
    };
    let dtype = dtype_of(&descr)?;
    if header.order() == npyz::Order::Fortran {
        return Err(ErrorKind::FortranOrder);
    }
    Ok(Header {
        dtype,
        descr,
        shape: header.shape().to_vec(),
        len: pre.len() as u64,
    })
}

/// Writes a version 1.0 header (numpy's layout, padded to 64 bytes) for a C-order
/// array of `dtype` and `shape`.
pub(crate) fn write_header(dtype: DType, shape: &[usize]) -> Result<Vec<u8>, ErrorKind> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let descr = descr_of(dtype)
        .parse()
        .map_err(|e| ErrorKind::Dtype(format!("{e}")))?;
    npyz::WriteOptions::new_header_only()
        .dtype(npyz::DType::Plain(descr))
        .shape(&shape)
        .writer(Vec::new())
        .write_header_only()
        .map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_with_shape(shape: &str) -> Vec<u8> {
        let mut text = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(' ');
        }
        text.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text.as_bytes());
        b
    }

    #[test]
    fn a_shape_past_64_bits_of_elements_is_an_error_not_an_overflow() {
        for shape in [
            "(10995116277776, 65536, 2147483648)",
            // No element, but strides past 64 bits.
            "(0, 4294967296, 7, 9223372036854775807)",
        ] {
            let b = npy_with_shape(shape);
            let e = read_header(&mut &b[..]).unwrap_err().to_string();
            assert!(e.contains("dims multiply past 64 bits"), "{shape}: {e}");
        }
        // A large count that fits still parses (the size check against the file
        // comes later).
        let b = npy_with_shape("(65536, 65536)");
        let h = read_header(&mut &b[..]).expect("header");
        assert_eq!(h.shape, vec![65536, 65536]);
    }
}
