//! `sparse-encode`: stores every weight in its smaller form, sparse (bitmap and
//! non-zero values) or dense. A pure storage change: the values, and so every
//! output, stay exactly the same.
//!
//! The compile pipeline runs it after quantization, since quantization writes
//! dense tensors: with symmetric weights (zero point 0) a pruned float zero
//! quantizes to the zero code, int4 included, so the pruned weights' codes are
//! sparse again.

use crate::registry::{OptionSpec, OptionType, Options};
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{Graph, ValueDef, WeightId};
use std::collections::BTreeMap;

const PASS: &str = "sparse-encode";

pub const OPTIONS: &[OptionSpec] = &[OptionSpec {
    name: "min-saving",
    ty: OptionType::Float,
    default: Some("0"),
    help: "store a weight sparse only when that saves at least this fraction of its dense bytes, in [0, 1)",
}];

#[derive(Debug)]
pub struct SparseEncode {
    min_saving: f64,
}

impl SparseEncode {
    pub fn from_options(o: &Options) -> Result<SparseEncode, PassError> {
        let min_saving = o.float("min-saving")?;
        if !(0.0..1.0).contains(&min_saving) {
            return Err(PassError::Config {
                pass: PASS,
                msg: format!(
                    "min-saving {min_saving} is out of range: expected a fraction in [0, 1)"
                ),
            });
        }
        Ok(SparseEncode { min_saving })
    }
}

impl Pass for SparseEncode {
    fn name(&self) -> &'static str {
        PASS
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        // Weights in use, each with the name of its first value (for errors).
        let mut used: BTreeMap<WeightId, String> = BTreeMap::new();
        let uses = g.uses();
        for (v, val) in g.values() {
            if let ValueDef::Weight(w) = val.def {
                if !uses[v.index()].is_empty() || g.outputs.contains(&v) {
                    used.entry(w).or_insert_with(|| val.name.clone());
                }
            }
        }
        let (mut before, mut after, mut sparse, mut densified) = (0usize, 0usize, 0usize, 0usize);
        for (wid, name) in used {
            let w = g.weight(wid);
            if w.palette_spec().is_some() {
                // Weight sharing chose the palette where it is smaller; keep it.
                continue;
            }
            let dense_len = w.bytes().len();
            let want_sparse = w.sparse_len().is_some_and(|s| {
                s < dense_len && (s as f64) <= dense_len as f64 * (1.0 - self.min_saving)
            });
            before += w.stored_len();
            let new = if want_sparse {
                w.to_sparse()
            } else {
                w.to_dense()
            }
            .map_err(|e| PassError::Analysis {
                pass: PASS,
                source: format!("weight \"{name}\": {e}").into(),
            })?;
            after += new.stored_len();
            if new.is_sparse() != w.is_sparse() {
                if new.is_sparse() {
                    sparse += 1;
                } else {
                    densified += 1;
                }
                *g.weight_mut(wid) = new;
            }
        }
        cx.note(
            PASS,
            format!(
                "{sparse} weights stored sparse, {densified} back to dense; weight bytes {before} -> {after}"
            ),
        );
        Ok(Changed::from_bool(sparse + densified > 0))
    }
}
