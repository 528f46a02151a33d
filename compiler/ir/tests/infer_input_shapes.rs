//! `override_input_shapes`: a fixed input shape replaced and inference re-run over
//! the graph; errors name the input or the node that rejects the new shape.

use pare_ir::infer::{override_input_shapes, InputShapeError};
use pare_ir::text::parse;

/// Conv (3x3, pad 1) → global average pool → flatten → gemm: takes any H, W.
const POOLED: &str = r#"
graph @pooled(%x "x": f32[1,2,4,4]) -> (f32[1,3]) {
  $w "w": f32[2,2,3,3] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
  $fc "fc": f32[3,2] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  %c "c": f32[1,2,4,4] = conv(%x, $w, _) "conv" {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
  %p "p": f32[1,2,1,1] = global_average_pool(%c) "pool"
  %f "f": f32[1,2] = flatten(%p) "flatten" {axis=1}
  %y "y": f32[1,3] = gemm(%f, $fc, _) "fc" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
"#;

/// Conv then a reshape to a constant [1, 32]: only a 4x4 input fits.
const RESHAPED: &str = r#"
graph @reshaped(%x "x": f32[1,2,4,4]) -> (f32[1,32]) {
  $w "w": f32[2,2,1,1] = [1.0, 0.0, 0.0, 1.0]
  $s "s": i64[2] = [1, 32]
  %c "c": f32[1,2,4,4] = conv(%x, $w, _) "conv" {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[1,32] = reshape(%c, $s) "to_rows" {allowzero=false}
  return %y
}
"#;

fn ty_of(g: &pare_ir::Graph, name: &str) -> String {
    let (_, v) = g
        .values()
        .find(|(_, v)| v.name == name)
        .expect("value exists");
    v.ty.to_string()
}

#[test]
fn a_fixed_input_takes_a_new_shape_and_the_graph_follows() {
    let mut g = parse(POOLED).expect("parses");
    override_input_shapes(&mut g, &[("x".into(), vec![2, 2, 9, 7])]).expect("overrides");
    assert_eq!(ty_of(&g, "x"), "f32[2,2,9,7]");
    assert_eq!(ty_of(&g, "c"), "f32[2,2,9,7]");
    assert_eq!(ty_of(&g, "p"), "f32[2,2,1,1]");
    assert_eq!(ty_of(&g, "y"), "f32[2,3]");
    pare_ir::verify::verify(&g).expect("still a valid graph");
    // The interpreter runs it at the new shape.
    let x = pare_ir::Tensor::from_vec(vec![2, 2, 9, 7], vec![1.0f32; 2 * 2 * 9 * 7]).unwrap();
    let out = pare_ir::interp::run(&g, &[x]).expect("runs");
    assert_eq!(out[0].shape(), &[2, 3]);
}

#[test]
fn no_override_changes_nothing() {
    let mut g = parse(POOLED).expect("parses");
    let before = pare_ir::text::print(&g);
    override_input_shapes(&mut g, &[]).expect("nothing to do");
    assert_eq!(pare_ir::text::print(&g), before);
}

#[test]
fn a_node_that_cannot_take_the_shape_is_named() {
    let mut g = parse(RESHAPED).expect("parses");
    let e = override_input_shapes(&mut g, &[("x".into(), vec![1, 2, 8, 8])]).unwrap_err();
    assert!(matches!(e, InputShapeError::Rejected { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("input `x` as [1, 2, 8, 8]"), "{msg}");
    assert!(
        msg.contains("`to_rows`") && msg.contains("reshape"),
        "{msg}"
    );
    // A rank the conv cannot take.
    let mut g = parse(RESHAPED).expect("parses");
    let msg = override_input_shapes(&mut g, &[("x".into(), vec![2, 16])])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`conv`"), "{msg}");
    // The same shape is accepted.
    let mut g = parse(RESHAPED).expect("parses");
    override_input_shapes(&mut g, &[("x".into(), vec![1, 2, 4, 4])]).expect("same shape");
}

#[test]
fn unknown_repeated_and_empty_names_are_errors() {
    let mut g = parse(POOLED).expect("parses");
    let msg = override_input_shapes(&mut g, &[("input".into(), vec![1, 2, 4, 4])])
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "`input` is not an input of the model (its inputs: `x` f32[1,2,4,4])"
    );
    let e = override_input_shapes(
        &mut g,
        &[
            ("x".into(), vec![1, 2, 4, 4]),
            ("x".into(), vec![1, 2, 5, 5]),
        ],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "input `x`: its shape is given twice");
    let e = override_input_shapes(&mut g, &[("x".into(), vec![])]).unwrap_err();
    assert!(matches!(e, InputShapeError::Empty { .. }), "{e}");
}
