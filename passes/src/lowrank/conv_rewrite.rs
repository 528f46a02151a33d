//! Graph rewrites of a factorized conv: Tucker-2 (1×1 → k×k core → 1×1) and
//! spatial separation (kh×1 then 1×kw, stride, padding and dilation split per
//! axis so that at full rank the pair is exactly the original conv).

use super::spatial::SpatialFactors;
use super::tucker::Factors;
use crate::prune::structured::analyze::label;
use pare_ir::ops::AutoPad;
use pare_ir::{Dim, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};

fn weight(shape: Vec<usize>, v: Vec<f64>) -> Weight {
    Weight::from_tensor(
        &Tensor::from_vec(shape, v.into_iter().map(|x| x as f32).collect()).expect("shape"),
    )
}

fn conv(kernel: [i64; 2], strides: [i64; 2], pads: [i64; 4], dilations: [i64; 2]) -> Op {
    Op::Conv {
        auto_pad: AutoPad::NotSet,
        kernel_shape: kernel.to_vec(),
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dilations.to_vec(),
        group: 1,
    }
}

fn pointwise() -> Op {
    conv([1, 1], [1, 1], [0; 4], [1, 1])
}

/// A value like `like` with `c` channels (and width `w` when given).
fn hidden(g: &Graph, like: ValueId, c: usize, w: Option<usize>) -> TensorType {
    let ty = g.ty(like);
    let mut h = TensorType::new(ty.dtype, ty.shape.clone());
    h.shape[1] = Dim::Fixed(c as u64);
    if let Some(w) = w {
        h.shape[3] = Dim::Fixed(w as u64);
    }
    h
}

/// conv(x, W, b) becomes conv1×1(x, U_iᵀ) → conv k×k(·, core) → conv1×1(·, U_o, b).
pub fn tucker(g: &mut Graph, node_id: NodeId, f: &Factors) -> Result<(), pare_ir::IrError> {
    let node = g.node(node_id).clone();
    let (x, y) = (node.input(0).expect("an input"), node.outputs[0]);
    let (o, i) = (f.u_out.nrows(), f.u_in.nrows());
    let (r_out, r_in) = (f.u_out.ncols(), f.u_in.ncols());
    let Op::Conv { kernel_shape, .. } = &node.op else {
        unreachable!("a conv target")
    };
    let (kh, kw) = (kernel_shape[0] as usize, kernel_shape[1] as usize);
    let base = label(g, node_id);
    let wname = g.value(node.input(1).expect("a weight")).name.clone();
    let first: Vec<f64> = (0..r_in)
        .flat_map(|a| (0..i).map(move |b| (a, b)))
        .map(|(a, b)| f.u_in[(b, a)])
        .collect();
    let last: Vec<f64> = (0..o)
        .flat_map(|a| (0..r_out).map(move |b| (a, b)))
        .map(|(a, b)| f.u_out[(a, b)])
        .collect();
    let w1 = g.add_weight(
        format!("{wname}.tucker_in"),
        weight(vec![r_in, i, 1, 1], first),
    )?;
    let w2 = g.add_weight(
        format!("{wname}.tucker_core"),
        weight(vec![r_out, r_in, kh, kw], f.core.clone()),
    )?;
    let w3 = g.add_weight(
        format!("{wname}.tucker_out"),
        weight(vec![o, r_out, 1, 1], last),
    )?;
    let (h1, h2) = (hidden(g, x, r_in, None), hidden(g, y, r_out, None));
    let (_, o1) = g.insert_node_before(
        node_id,
        format!("{base}.tucker_in"),
        pointwise(),
        vec![Some(x), Some(w1)],
        vec![(format!("{base}.tucker_in"), h1)],
    )?;
    let (_, o2) = g.insert_node_before(
        node_id,
        format!("{base}.tucker_core"),
        node.op.clone(),
        vec![Some(o1[0]), Some(w2)],
        vec![(format!("{base}.tucker_core"), h2)],
    )?;
    let nd = g.node_mut(node_id);
    nd.op = pointwise();
    nd.inputs[0] = Some(o2[0]);
    nd.inputs[1] = Some(w3);
    Ok(())
}

/// conv(x, W, b) becomes conv kh×1(x, A) → conv 1×kw(·, B, b): the first
/// takes the vertical stride, padding and dilation, the second the horizontal
/// ones. The first conv's zero padding rows give zero rows, and the second
/// pads its columns with zeros where the original read zero columns, so the
/// pair computes Σ W·x over the same taps.
pub fn spatial(g: &mut Graph, node_id: NodeId, f: &SpatialFactors) -> Result<(), pare_ir::IrError> {
    let node = g.node(node_id).clone();
    let (x, y) = (node.input(0).expect("an input"), node.outputs[0]);
    let Op::Conv {
        auto_pad,
        kernel_shape,
        strides,
        pads,
        dilations,
        ..
    } = &node.op
    else {
        unreachable!("a conv target")
    };
    let at = |v: &[i64], k: usize, dflt: i64| v.get(k).copied().unwrap_or(dflt);
    let (kh, kw) = (kernel_shape[0] as usize, kernel_shape[1] as usize);
    let p = |k: usize| {
        if *auto_pad == AutoPad::Valid {
            0
        } else {
            at(pads, k, 0)
        }
    };
    let (s, d) = (
        [at(strides, 0, 1), at(strides, 1, 1)],
        [at(dilations, 0, 1), at(dilations, 1, 1)],
    );
    let r = f.rank();
    let i = f.a.nrows() / kh;
    let o = f.b.ncols() / kw;
    // A [(i, y), r] → [r, I, kh, 1]; B [r, (o, x)] → [O, r, 1, kw].
    let vert: Vec<f64> = (0..r)
        .flat_map(|c| (0..i * kh).map(move |iy| f.a[(iy, c)]))
        .collect();
    let horiz: Vec<f64> = (0..o)
        .flat_map(|oo| (0..r).flat_map(move |c| (0..kw).map(move |xx| (oo, c, xx))))
        .map(|(oo, c, xx)| f.b[(c, oo * kw + xx)])
        .collect();
    let base = label(g, node_id);
    let wname = g.value(node.input(1).expect("a weight")).name.clone();
    let wv = g.add_weight(
        format!("{wname}.spatial_v"),
        weight(vec![r, i, kh, 1], vert),
    )?;
    let wh = g.add_weight(
        format!("{wname}.spatial_h"),
        weight(vec![o, r, 1, kw], horiz),
    )?;
    // The vertical conv keeps the input's width.
    let in_w = g.ty(x).shape[3].fixed().map(|w| w as usize);
    let mut h = hidden(g, y, r, in_w);
    if in_w.is_none() {
        h.shape[3] = g.ty(x).shape[3].clone();
    }
    let (_, o1) = g.insert_node_before(
        node_id,
        format!("{base}.spatial_v"),
        conv([kh as i64, 1], [s[0], 1], [p(0), 0, p(2), 0], [d[0], 1]),
        vec![Some(x), Some(wv)],
        vec![(format!("{base}.spatial_v"), h)],
    )?;
    let nd = g.node_mut(node_id);
    nd.op = conv([1, kw as i64], [1, s[1]], [0, p(1), 0, p(3)], [1, d[1]]);
    nd.inputs[0] = Some(o1[0]);
    nd.inputs[1] = Some(wh);
    Ok(())
}
