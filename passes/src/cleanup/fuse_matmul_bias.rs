//! `fuse-matmul-bias`: `Add(MatMul(x, W), b)` with constant `W: [K, N]` and
//! constant `b: [N]` becomes one `Gemm(x, W, b)` — with `x` flattened to
//! `[-1, K]` and the result reshaped back when `x` has more than two dims.
//!
//! Exporters write `nn.Linear` on a 3-D input this way. The float result is
//! the same; what changes is quantization: as a Gemm the bias is added in the
//! int32 accumulator (scale s_x·s_w) instead of as a second int8 op that
//! quantizes the product first and then adds an int8-quantized bias.
//!
//! Conditions: the MatMul's only user is the Add, `x`'s dims after the first
//! are all known (so the reshape back is fixed but for a `-1` batch), both
//! constants are f32 weights without quantization.

use crate::util::weight_tensor;
use crate::{Changed, Pass, PassCx, PassError};
use pare_ir::{DType, Dim, Graph, NodeId, Op, Tensor, TensorType, ValueId, Weight};

#[derive(Debug, Default)]
pub struct FuseMatmulBias;

impl Pass for FuseMatmulBias {
    fn name(&self) -> &'static str {
        "fuse-matmul-bias"
    }

    fn run(&mut self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let mut fused = Vec::new();
        for add in g.order().to_vec() {
            if let Some(name) = fuse(g, add).map_err(|e| PassError::Node {
                pass: "fuse-matmul-bias",
                node: g.node(add).name.clone(),
                source: Box::new(e),
            })? {
                fused.push(name);
            }
        }
        for n in &fused {
            cx.note(self.name(), format!("fused the bias add into {n}"));
        }
        Ok(Changed::from_bool(!fused.is_empty()))
    }
}

/// The constant f32 tensor behind `v`, if it is one.
fn constant(g: &Graph, v: ValueId) -> Option<Tensor> {
    let t = weight_tensor(g, v)?.ok()?;
    (t.dtype() == DType::F32 && g.ty(v).quant.is_none()).then_some(t)
}

fn fuse(g: &mut Graph, add: NodeId) -> Result<Option<String>, pare_ir::IrError> {
    let n = g.node(add);
    if !matches!(n.op, Op::Add {}) || n.inputs.len() != 2 {
        return Ok(None);
    }
    // Either operand order: Add(MatMul, b) or Add(b, MatMul).
    let (Some(a0), Some(a1)) = (n.inputs[0], n.inputs[1]) else {
        return Ok(None);
    };
    let (mm_out, b) = match (g.producer(a0), g.producer(a1)) {
        (Some(p), _) if matches!(g.node(p).op, Op::MatMul {}) => (a0, a1),
        (_, Some(p)) if matches!(g.node(p).op, Op::MatMul {}) => (a1, a0),
        _ => return Ok(None),
    };
    let Some(mm) = g.producer(mm_out) else {
        return Ok(None);
    };
    let uses = g.uses();
    if uses[mm_out.index()].len() != 1 || g.outputs.contains(&mm_out) {
        return Ok(None);
    }
    let (Some(x), Some(wv)) = (
        g.node(mm).inputs[0],
        g.node(mm).inputs.get(1).copied().flatten(),
    ) else {
        return Ok(None);
    };
    let (Some(w), Some(bias)) = (constant(g, wv), constant(g, b)) else {
        return Ok(None);
    };
    let [k, nout] = w.shape()[..] else {
        return Ok(None);
    };
    if bias.len() != nout || g.ty(b).rank() > 1 {
        return Ok(None);
    }
    let xs = g.ty(x).shape.clone();
    let Some(inner) = xs
        .get(1..)
        .and_then(|d| d.iter().map(Dim::fixed).collect::<Option<Vec<u64>>>())
    else {
        return Ok(None);
    };
    if xs.len() < 2 || *inner.last().unwrap_or(&0) != k as u64 {
        return Ok(None);
    }
    let y = g.node(add).outputs[0];
    let name = match g.node(mm).name.as_str() {
        "" => g.value(y).name.clone(),
        n => n.to_string(),
    };
    // A [N] bias is used as is; a scalar-shaped one is given its [N] shape.
    let bias_v = if g.ty(b).rank() == 1 {
        b
    } else {
        g.add_weight(
            g.value(b).name.clone(),
            Weight::from_tensor(&bias.reshaped(vec![nout])?),
        )?
    };
    let gemm = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };
    let mut out_shape = xs.clone();
    *out_shape.last_mut().expect("rank >= 2") = Dim::Fixed(nout as u64);
    let out_ty = TensorType::new(DType::F32, out_shape);
    if xs.len() == 2 {
        let (_, outs) = g.insert_node_before(
            add,
            name.clone(),
            gemm,
            vec![Some(x), Some(wv), Some(bias_v)],
            vec![(String::new(), out_ty)],
        )?;
        g.replace_all_uses(y, outs[0]);
        let yname = std::mem::take(&mut g.value_mut(y).name);
        g.value_mut(outs[0]).name = yname;
    } else {
        let flat_shape = Tensor::from_vec(vec![2], vec![-1i64, k as i64])?;
        let fs = g.add_weight(
            format!("{name}_flat_shape"),
            Weight::from_tensor(&flat_shape),
        )?;
        // Placeholder types: the manager's re-inference computes the real ones.
        let flat_ty = TensorType::scalar(DType::F32);
        let (_, flat) = g.insert_node_before(
            add,
            format!("{name}_flatten"),
            Op::Reshape { allowzero: false },
            vec![Some(x), Some(fs)],
            vec![(String::new(), flat_ty)],
        )?;
        let gemm_ty = TensorType::scalar(DType::F32);
        let (_, gout) = g.insert_node_before(
            add,
            name.clone(),
            gemm,
            vec![Some(flat[0]), Some(wv), Some(bias_v)],
            vec![(String::new(), gemm_ty)],
        )?;
        let mut back: Vec<i64> = vec![-1];
        back.extend(inner[..inner.len() - 1].iter().map(|&d| d as i64));
        back.push(nout as i64);
        let bs = Tensor::from_vec(vec![back.len()], back)?;
        let bsv = g.add_weight(format!("{name}_shape"), Weight::from_tensor(&bs))?;
        let yname = std::mem::take(&mut g.value_mut(y).name);
        let (_, outs) = g.insert_node_before(
            add,
            format!("{name}_unflatten"),
            Op::Reshape { allowzero: false },
            vec![Some(gout[0]), Some(bsv)],
            vec![(yname, out_ty)],
        )?;
        g.replace_all_uses(y, outs[0]);
    }
    g.remove_node(add);
    g.remove_node(mm);
    Ok(Some(name))
}
