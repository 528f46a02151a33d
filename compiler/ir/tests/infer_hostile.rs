//! Hostile graphs: every op, built with default attributes and fed odd operands
//! (scalars, huge dims, negative and extreme constants, wrong dtypes, too many or
//! too few inputs and outputs), must give a result or an error — never a panic.

mod infer_util;
use infer_util::{build, In, In::*};
use pare_ir::infer::infer_graph;
use pare_ir::{Attr, AttrError, Op};
use std::collections::BTreeMap;

/// Builds op `name`, filling every required attribute with a plausible default.
fn default_op(name: &str) -> Op {
    let mut attrs: BTreeMap<String, Attr> = BTreeMap::new();
    for _ in 0..32 {
        match Op::from_attrs(name, attrs.clone()) {
            Ok(op) => return op,
            Err(AttrError::Missing { attr, .. }) => {
                attrs.insert(attr.to_string(), Attr::Int(1));
            }
            Err(AttrError::WrongKind { attr, expected, .. }) => {
                let v = match expected {
                    "float" => Attr::Float(1.0),
                    "bool" => Attr::Bool(false),
                    "int list" => Attr::Ints(vec![]),
                    "float list" => Attr::Floats(vec![]),
                    "string" => Attr::Str("ij->ij".into()),
                    "string list" => Attr::Strs(vec![]),
                    "dtype" => Attr::DType(pare_ir::DType::F32),
                    "AutoPad" => Attr::Str("NOTSET".into()),
                    "PadMode" => Attr::Str("constant".into()),
                    "Direction" => Attr::Str("forward".into()),
                    "ResizeMode" => Attr::Str("nearest".into()),
                    "CoordTransform" => Attr::Str("asymmetric".into()),
                    "NearestMode" => Attr::Str("floor".into()),
                    "KeepAspect" => Attr::Str("stretch".into()),
                    "ScatterReduction" => Attr::Str("none".into()),
                    "DepthToSpaceMode" => Attr::Str("DCR".into()),
                    "GeluApprox" => Attr::Str("none".into()),
                    other => panic!("no default for attribute kind {other}"),
                };
                attrs.insert(attr.to_string(), v);
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    panic!("{name}: could not build");
}

fn operand_sets() -> Vec<Vec<In>> {
    vec![
        vec![],
        vec![T("f32[]")],
        vec![T("f32[N,3,8,8]"), W("f32[4,3,3,3]"), W("f32[4]")],
        vec![
            T("f32[1099511627776,1099511627776]"),
            T("f32[1099511627776]"),
        ],
        vec![
            T("i64[3]"),
            I(vec![-1, i64::MAX, i64::MIN]),
            I(vec![i64::MIN]),
        ],
        vec![
            T("f32[2,3]"),
            I(vec![i64::MAX, 0]),
            I(vec![-5, 3]),
            I(vec![9, -9]),
            I(vec![i64::MIN, 0]),
        ],
        vec![T("bool[2]"), T("bool[2]"), T("bool[2]")],
        vec![
            T("f32[N,T,8]"),
            W("f32[1,4,8]"),
            W("f32[1,4,1]"),
            No,
            No,
            T("f32[1,N,1]"),
        ],
        vec![T("f32[0,0]"), IS(0), IS(0), IS(0)],
        vec![
            T("i8[2,2]"),
            F(vec![f32::NAN]),
            F(vec![f32::INFINITY, -1.0]),
        ],
        vec![T("f32[M]"), No, No, No, No, No, No, No, No],
        vec![T("f32[2,2]"), IS(i64::MAX), F(vec![0.0, 1.0])],
    ]
}

#[test]
fn no_op_panics_on_odd_operands() {
    let mut outcomes = 0;
    for name in Op::ALL_NAMES {
        let op = default_op(name);
        for ins in operand_sets() {
            for n_out in 0..4 {
                let (mut g, _) = build(op.clone(), &ins, n_out);
                let inferred = infer_graph(&mut g).is_ok();
                let verified = pare_ir::verify::verify(&g).is_ok();
                // A graph inference accepted must also satisfy the verifier.
                assert!(
                    !inferred || verified,
                    "{name} {n_out}: {:?}",
                    pare_ir::verify::verify(&g)
                );
                outcomes += 1;
            }
        }
    }
    assert!(outcomes > 1000);
}
