//! The ONNX subgraph that turns a palette weight's index initializer into INT64
//! indices `[groups, elements per group]`, written down once as data: the
//! exporter emits exactly these steps and the importer recognises exactly these,
//! so the two cannot drift apart.
//!
//! Two index forms:
//!
//! * `Typed`: a `UINT4` (indices of up to 4 bits) or `UINT8` initializer
//!   `[groups, n]`, widened by one `Cast`;
//! * `Packed`: pare's own packed rows as a `UINT8 [rows, row bytes]` initializer
//!   (`bits` per index, least significant bit first, each row byte-aligned), for
//!   the widths ONNX has no type of (1–3, 5–7 bits): `BitShift`/`BitwiseAnd`
//!   split the bytes into bits, a `Reshape` groups each index's bits (after a
//!   `Slice` drops row padding), and `Mul` by the powers of two + `ReduceSum`
//!   adds them up.

use pare_ir::palette::PaletteLayout;

pub(crate) const INT64: i64 = 7;

/// How the index initializer stores the indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexForm {
    Typed,
    Packed,
}

impl IndexForm {
    /// The ONNX element type and dims of the index initializer.
    pub fn initializer(self, layout: &PaletteLayout) -> (i32, Vec<i64>) {
        const UINT8: i32 = 2;
        const UINT4: i32 = 21;
        match self {
            IndexForm::Typed => {
                let code = if layout.spec.bits() <= 4 {
                    UINT4
                } else {
                    UINT8
                };
                (code, group_dims(layout).to_vec())
            }
            IndexForm::Packed => (UINT8, vec![layout.rows as i64, layout.row_bytes as i64]),
        }
    }
}

/// A constant input of a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Const {
    U8 { dims: Vec<i64>, values: Vec<u8> },
    I64 { dims: Vec<i64>, values: Vec<i64> },
}

impl Const {
    fn i64s(values: Vec<i64>) -> Const {
        Const::I64 {
            dims: vec![values.len() as i64],
            values,
        }
    }
}

/// An attribute of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttrValue {
    Int(i64),
    Str(&'static str),
}

/// One node: its op, the value before it as input 0, then constants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub op: &'static str,
    pub consts: Vec<Const>,
    pub attrs: Vec<(&'static str, AttrValue)>,
}

fn step(op: &'static str, consts: Vec<Const>, attrs: Vec<(&'static str, AttrValue)>) -> Step {
    Step { op, consts, attrs }
}

/// `[groups, elements per group]`: the shape the indices are gathered in.
pub(crate) fn group_dims(layout: &PaletteLayout) -> [i64; 2] {
    let groups = layout.spec.groups;
    [groups as i64, (layout.elements() / groups) as i64]
}

/// The steps from the index initializer of `form` to INT64 indices
/// `[groups, elements per group]`.
pub(crate) fn index_steps(layout: &PaletteLayout, form: IndexForm) -> Vec<Step> {
    let cast = step("Cast", vec![], vec![("to", AttrValue::Int(INT64))]);
    if form == IndexForm::Typed {
        return vec![cast];
    }
    let bits = layout.spec.bits();
    let [groups, per_group] = group_dims(layout);
    let mut steps = vec![
        step("Unsqueeze", vec![Const::i64s(vec![-1])], vec![]),
        step(
            "BitShift",
            vec![Const::U8 {
                dims: vec![8],
                values: (0..8).collect(),
            }],
            vec![("direction", AttrValue::Str("RIGHT"))],
        ),
        step(
            "BitwiseAnd",
            vec![Const::U8 {
                dims: vec![],
                values: vec![1],
            }],
            vec![],
        ),
    ];
    let used = layout.row_len * bits;
    if used != layout.row_bytes * 8 {
        steps.push(step(
            "Reshape",
            vec![Const::i64s(vec![
                layout.rows as i64,
                layout.row_bytes as i64 * 8,
            ])],
            vec![],
        ));
        steps.push(step(
            "Slice",
            vec![
                Const::i64s(vec![0]),
                Const::i64s(vec![used as i64]),
                Const::i64s(vec![1]),
            ],
            vec![],
        ));
    }
    steps.push(step(
        "Reshape",
        vec![Const::i64s(vec![groups, per_group, bits as i64])],
        vec![],
    ));
    steps.push(cast);
    steps.push(step(
        "Mul",
        vec![Const::i64s((0..bits).map(|b| 1i64 << b).collect())],
        vec![],
    ));
    steps.push(step(
        "ReduceSum",
        vec![Const::i64s(vec![-1])],
        vec![("keepdims", AttrValue::Int(0))],
    ));
    steps
}

/// Every element's codebook index, row-major, from the index initializer's
/// bytes (for `Typed`, one byte per index, as the importer widens UINT4).
pub(crate) fn indices_of(layout: &PaletteLayout, form: IndexForm, bytes: &[u8]) -> Option<Vec<u8>> {
    match form {
        IndexForm::Typed => (bytes.len() == layout.elements()).then(|| bytes.to_vec()),
        IndexForm::Packed => {
            if bytes.len() != layout.indices_len() {
                return None;
            }
            let bits = layout.spec.bits();
            let mut out = Vec::with_capacity(layout.elements());
            for row in bytes
                .chunks_exact(layout.row_bytes.max(1))
                .take(layout.rows)
            {
                out.extend(
                    (0..layout.row_len).map(|j| pare_ir::palette::index_at(row, j, bits) as u8),
                );
            }
            Some(out)
        }
    }
}
