//! Turning a case number into a case: a seed picked from the pool (or a freshly
//! generated file), then one to three mutations, each structure-aware for the format
//! or byte-level.

pub mod bytes;
pub mod json;
pub mod npy;
pub mod onnx;
pub mod pt2;
pub mod text;
pub mod zipio;

use crate::format::Format;
use crate::generate;
use crate::seeds::SeedPool;
use fastrand::Rng;

/// The random number generator of case `index` of a campaign seeded with `seed`:
/// cases depend on nothing else, so any worker may make any case.
pub fn case_rng(seed: u64, index: u64) -> Rng {
    Rng::with_seed(splitmix64(seed ^ splitmix64(index)))
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Builds one case.
pub fn make_case(format: Format, rng: &mut Rng, pool: &SeedPool) -> Vec<u8> {
    // A share of the cases are generated files, some run as generated.
    let fresh = match format {
        Format::Onnx if rng.u8(0..5) == 0 => Some(generate::onnx_model(rng)),
        Format::Npy if rng.u8(0..4) == 0 => Some(if rng.bool() {
            generate::npy_array(rng)
        } else {
            generate::npz_archive(rng)
        }),
        _ => None,
    };
    let mut b = match fresh {
        Some(b) if rng.bool() => return b,
        Some(b) => b,
        None => pool.pick(rng).bytes.clone(),
    };
    // Byte-level edits mostly break the container (protobuf framing, zip checksums)
    // and stop at the first check; field edits get further, so they get most turns.
    let structured_share = match format {
        Format::Onnx => 80,
        Format::Pt2 => 85,
        Format::Pir => 70,
        Format::Npy => 60,
    };
    let rounds = [1, 1, 1, 1, 1, 1, 2, 2, 2, 3][rng.usize(0..10)];
    for _ in 0..rounds {
        let structured = rng.u8(0..100) < structured_share;
        let edited = if structured {
            match format {
                Format::Onnx => onnx::mutate(rng, &b),
                Format::Pt2 => pt2::mutate(rng, &b),
                Format::Pir => text::mutate(rng, &b),
                Format::Npy => npy::mutate(rng, &b),
            }
        } else {
            None
        };
        match edited {
            Some(e) => b = e,
            None => {
                let other = &pool.pick(rng).bytes;
                bytes::mutate(rng, &mut b, other);
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::{Seed, SeedPool};

    fn pool() -> SeedPool {
        let mut gen = Rng::with_seed(3);
        SeedPool {
            small: (0..4)
                .map(|i| Seed {
                    name: format!("g{i}"),
                    bytes: generate::onnx_model(&mut gen),
                })
                .collect(),
            large: Vec::new(),
        }
    }

    #[test]
    fn a_case_depends_only_on_seed_and_index() {
        let pool = pool();
        for format in [Format::Onnx, Format::Pt2, Format::Pir, Format::Npy] {
            for i in [0, 1, 77] {
                let a = make_case(format, &mut case_rng(9, i), &pool);
                let b = make_case(format, &mut case_rng(9, i), &pool);
                assert_eq!(a, b, "{format} case {i}");
            }
        }
        let distinct: std::collections::BTreeSet<Vec<u8>> = (0..20)
            .map(|i| make_case(Format::Onnx, &mut case_rng(9, i), &pool))
            .collect();
        assert!(
            distinct.len() > 15,
            "cases should differ: {}",
            distinct.len()
        );
    }

    #[test]
    fn onnx_field_edits_keep_a_decodable_model() {
        use prost::Message;
        let pool = pool();
        let mut rng = Rng::with_seed(5);
        for _ in 0..200 {
            let edited = onnx::mutate(&mut rng, &pool.small[0].bytes).expect("decodes");
            pare_onnx::proto::ModelProto::decode(&edited[..]).expect("still a model");
        }
    }

    #[test]
    fn npy_header_edits_change_the_header_only() {
        let t = pare_ir::Tensor::zeros(pare_ir::DType::F32, vec![2, 3]).unwrap();
        let original = pare_npy::encode_npy(&t).unwrap();
        let mut rng = Rng::with_seed(1);
        let mut changed = 0;
        for _ in 0..50 {
            let m = npy::mutate(&mut rng, &original).expect("an npy");
            assert!(m.ends_with(&[0u8; 24]), "data kept");
            changed += usize::from(m != original);
        }
        assert!(changed > 25);
    }
}
