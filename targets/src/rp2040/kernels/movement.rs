//! Data movement (pare_ir::interp::int::movement): Concat → `pare_concat`;
//! views → nothing when the plan aliased them, else `memcpy`; every other
//! movement op → `pare_gather` with one offset table per output dim.
//!
//! The gather tables come from the interpreter itself: its float kernel runs on
//! the element indices (`0, 1, 2, …` as f32, exact below 2^24; a Pad's constant
//! set to −1), which gives each output element's source index, −1 for padding.
//! That map is split into a sum of one term per output dim and the split is
//! checked against every element, so Transpose, Pad (all modes), Slice, Split,
//! Expand, Tile, Gather, DepthToSpace, SpaceToDepth and nearest Resize share one
//! kernel and the interpreter's exact semantics. The padding code is what the
//! integer kernel writes there.

use super::mean::MAX_RANK;
use crate::rp2040::data::{CType, DataKind};
use crate::rp2040::layer::{c_int, Layer, NodeCx, Params};
use crate::rp2040::Rp2040Error;
use pare_ir::interp::{eval_int, eval_op};
use pare_ir::ops::PadMode;
use pare_ir::{Op, Tensor, TensorType};

/// Movement ops that run on `pare_gather`.
pub(crate) fn is_gather_op(op: &Op) -> bool {
    matches!(
        op,
        Op::Transpose { .. }
            | Op::Pad { .. }
            | Op::Slice {}
            | Op::Split { .. }
            | Op::Expand {}
            | Op::Tile {}
            | Op::Gather { .. }
            | Op::DepthToSpace { .. }
            | Op::SpaceToDepth { .. }
            | Op::Resize { .. }
    )
}

/// Concat: each input's chunk after the axis, `outer` times.
pub(super) fn concat(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let Op::Concat { axis } = cx.node.op else {
        return Err(cx.err("not a concat"));
    };
    let out = cx.out_shape(0)?;
    let r = out.len() as i64;
    let a = usize::try_from(if axis < 0 { axis + r } else { axis })
        .ok()
        .filter(|&a| a < out.len())
        .ok_or_else(|| cx.err(format!("axis {axis} is out of range for rank {r}")))?;
    let outer: usize = out[..a].iter().product();
    let n = cx.node.inputs.len();
    let mut chunks = Vec::with_capacity(n);
    let mut ptrs = Vec::with_capacity(n);
    for i in 0..n {
        cx.act_in(i)?;
        let s = cx.in_shape(i)?;
        chunks.push(c_int(cx, s[a..].iter().product(), "chunk")?);
        ptrs.push(cx.operand(i)?);
    }
    let what = cx.what();
    let cn = cx.array(
        "chunk",
        CType::I32,
        chunks,
        DataKind::Tables,
        format!("{what}: bytes each input adds per outer step"),
    );
    let name = cx.params_name();
    let params = Params::new("pare_concat_params")
        .row(&[
            ("outer", c_int(cx, outer, "outer")?.to_string()),
            ("inputs", n.to_string()),
        ])
        .row(&[("chunk", cn)]);
    let call = vec![
        "{".to_string(),
        format!(
            "    const int8_t *const in[{n}] = {{ {} }};",
            ptrs.join(", ")
        ),
        format!("    pare_concat(&{name}, in, {});", cx.out_ptr(0)?),
        "}".to_string(),
    ];
    Ok(Layer {
        kernel: "pare_concat",
        params: vec![(name, params)],
        call,
    })
}

/// Reshape & co.: the output is the input's bytes. No code when the plan put
/// both in one place; a copy otherwise.
pub(super) fn view(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    let (x, y) = (cx.input(0)?, cx.output(0)?);
    let same = matches!(
        (cx.storage.place(x), cx.storage.place(y)),
        (Some(a), Some(b)) if a == b
    );
    if same {
        return Ok(Layer {
            kernel: "none",
            params: Vec::new(),
            call: vec!["/* a view of its input: no code */".to_string()],
        });
    }
    let bytes: usize = cx.out_shape(0)?.iter().product();
    let call = format!("memcpy({}, {}, {bytes});", cx.out_ptr(0)?, cx.operand(0)?);
    Ok(Layer {
        kernel: "memcpy",
        params: Vec::new(),
        call: vec![call],
    })
}

/// Largest element count whose indices f32 holds exactly.
const MAX_F32_INDEX: usize = 1 << 24;

/// The op's source map per output: the float kernel on element indices.
fn source_maps(cx: &NodeCx, n: usize, xs: &[usize]) -> Result<Vec<Tensor>, Rp2040Error> {
    let iota = Tensor::from_vec(xs.to_vec(), (0..n).map(|i| i as f32).collect::<Vec<f32>>())?;
    let mut aux: Vec<Option<Tensor>> = Vec::new();
    for i in 1..cx.node.inputs.len() {
        aux.push(cx.opt_constant(i)?);
    }
    if let Op::Pad {
        mode: PadMode::Constant,
    } = cx.node.op
    {
        while aux.len() < 2 {
            aux.push(None);
        }
        aux[1] = Some(Tensor::scalar(-1.0f32));
    }
    let mut inputs: Vec<Option<&Tensor>> = vec![Some(&iota)];
    inputs.extend(aux.iter().map(Option::as_ref));
    Ok(eval_op(&cx.node.op, &inputs, cx.node.outputs.len())?)
}

/// The codes the integer kernel writes, run on zero codes (for the padding code).
fn integer_outputs(cx: &NodeCx, n: usize, xs: &[usize]) -> Result<Vec<Tensor>, Rp2040Error> {
    let zeros = Tensor::from_vec(xs.to_vec(), vec![0i8; n])?;
    let mut aux: Vec<Option<Tensor>> = Vec::new();
    for i in 1..cx.node.inputs.len() {
        aux.push(cx.opt_constant(i)?);
    }
    let mut inputs: Vec<Option<&Tensor>> = vec![Some(&zeros)];
    inputs.extend(aux.iter().map(Option::as_ref));
    let in_types: Vec<Option<&TensorType>> = cx
        .node
        .inputs
        .iter()
        .map(|v| v.map(|v| cx.g.ty(v)))
        .collect();
    let out_types: Vec<&TensorType> = cx.node.outputs.iter().map(|&v| cx.g.ty(v)).collect();
    Ok(eval_int(
        &cx.node.op,
        &inputs,
        &in_types,
        &out_types,
        cx.rounding,
    )?)
}

/// Transpose, Pad, Slice, Split, …: one `pare_gather` per output.
pub(super) fn gather(cx: &mut NodeCx) -> Result<Layer, Rp2040Error> {
    cx.act_in(0)?;
    let xs = cx.in_shape(0)?;
    let n: usize = xs.iter().product();
    if n >= MAX_F32_INDEX {
        return Err(cx.err(format!("{n} elements are too many to map (at most 2^24)")));
    }
    let maps = source_maps(cx, n, &xs)?;
    let mut fills: Option<Vec<Tensor>> = None;
    let input = cx.operand(0)?;
    let mut params = Vec::new();
    let mut call = Vec::new();
    let mut kernel = "memcpy";
    for (j, map) in maps.iter().enumerate() {
        cx.act_out(j)?;
        let out = cx.out_ptr(j)?;
        let map: Vec<i64> = map.to_f32_vec().into_iter().map(|v| v as i64).collect();
        let mut dims = cx.out_shape(j)?;
        if dims.is_empty() {
            dims.push(1);
        }
        if map.len() == n && map.iter().enumerate().all(|(i, &s)| s == i as i64) {
            call.push(format!("memcpy({out}, {input}, {n});"));
            continue;
        }
        if dims.len() > MAX_RANK {
            return Err(cx.err(format!(
                "output {j} has rank {}; the C kernel takes at most {MAX_RANK}",
                dims.len()
            )));
        }
        let tables = separate(&map, &dims).ok_or_else(|| {
            cx.err(format!(
                "output {j}'s elements do not come from a sum of per-dim offsets; no C kernel moves them"
            ))
        })?;
        let fill = match map.iter().position(|&s| s < 0) {
            None => 0,
            Some(at) => {
                if fills.is_none() {
                    fills = Some(integer_outputs(cx, n, &xs)?);
                }
                let t = fills.as_ref().and_then(|f| f.get(j));
                let code = t.and_then(|t| t.as_slice::<i8>()).and_then(|v| v.get(at));
                i64::from(*code.ok_or_else(|| cx.err("the integer kernel gave no padding code"))?)
            }
        };
        let what = cx.what();
        let suffix = if maps.len() == 1 {
            String::new()
        } else {
            format!("_{j}")
        };
        let on = cx.array(
            &format!("offsets{suffix}"),
            CType::I32,
            tables.concat(),
            DataKind::Tables,
            format!("{what}: output {j}'s source offset per index of each dim (-1: padding)"),
        );
        let dims_i: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let name = format!("{}{suffix}", cx.params_name());
        params.push((
            name.clone(),
            Params::new("pare_gather_params")
                .row(&[
                    ("rank", dims.len().to_string()),
                    ("dims", crate::rp2040::cgen::inline_list(&dims_i)),
                ])
                .row(&[("offsets", on), ("fill", fill.to_string())]),
        ));
        call.push(format!("pare_gather(&{name}, {input}, {out});"));
        kernel = "pare_gather";
    }
    Ok(Layer {
        kernel,
        params,
        call,
    })
}

/// Splits a source map over row-major `dims` (`map[e]` the source index of
/// element `e`, −1 for padding) into one table per dim with
/// `map[e] = Σ_d table_d[e_d]`, or −1 where some `table_d[e_d]` is −1. Every
/// entry besides −1 is non-negative. `None` when no such split exists.
pub(crate) fn separate(map: &[i64], dims: &[usize]) -> Option<Vec<Vec<i64>>> {
    let total: usize = dims.iter().product();
    if map.len() != total || dims.is_empty() {
        return None;
    }
    let mut strides = vec![1usize; dims.len()];
    for d in (0..dims.len() - 1).rev() {
        strides[d] = strides[d + 1] * dims[d + 1];
    }
    let coords =
        |e: usize| -> Vec<usize> { (0..dims.len()).map(|d| e / strides[d] % dims[d]).collect() };
    let Some(c) = map.iter().position(|&s| s >= 0) else {
        // All padding: dim 0 says so, the others add nothing.
        let mut t: Vec<Vec<i64>> = dims.iter().map(|&n| vec![0; n]).collect();
        t[0].fill(-1);
        return Some(t);
    };
    let cc = coords(c);
    let base = map[c];
    // Along each dim through element c: the map relative to c, or padding.
    let mut tables: Vec<Vec<Option<i64>>> = (0..dims.len())
        .map(|d| {
            (0..dims[d])
                .map(|o| {
                    let e = c - cc[d] * strides[d] + o * strides[d];
                    (map[e] >= 0).then(|| map[e] - base)
                })
                .collect()
        })
        .collect();
    // Shift dims 1.. to start at 0 and move the base and the shifts into dim 0,
    // so no entry besides the padding mark is negative.
    let mut shift = base;
    for t in tables.iter_mut().skip(1) {
        let min = t.iter().flatten().copied().min().unwrap_or(0);
        t.iter_mut().flatten().for_each(|v| *v -= min);
        shift += min;
    }
    tables[0].iter_mut().flatten().for_each(|v| *v += shift);
    let out: Vec<Vec<i64>> = tables
        .iter()
        .map(|t| t.iter().map(|v| v.unwrap_or(-1)).collect())
        .collect();
    if out.iter().flatten().any(|&v| v < -1) {
        return None;
    }
    // The split must reproduce every element.
    let ok = (0..total).all(|e| {
        let ce = coords(e);
        let parts: Option<i64> = (0..dims.len()).try_fold(0i64, |acc, d| {
            let v = out[d][ce[d]];
            (v >= 0).then_some(acc + v)
        });
        parts.unwrap_or(-1) == map[e]
    });
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::separate;

    #[test]
    fn transpose_splits() {
        // [2, 3] transposed to [3, 2]: out[i][j] = in[j][i] = j * 3 + i.
        let map: Vec<i64> = (0..6).map(|e| (e % 2) * 3 + e / 2).collect();
        let t = separate(&map, &[3, 2]).expect("separable");
        assert_eq!(t, vec![vec![0, 1, 2], vec![0, 3]]);
    }

    #[test]
    fn padding_marks_rows_and_columns() {
        // [2] padded by one on each side: [-1, 0, 1, -1].
        let t = separate(&[-1, 0, 1, -1], &[4]).expect("separable");
        assert_eq!(t, vec![vec![-1, 0, 1, -1]]);
        // [1, 2] padded to [3, 2] with a row above and below.
        let t = separate(&[-1, -1, 0, 1, -1, -1], &[3, 2]).expect("separable");
        assert_eq!(t, vec![vec![-1, 0, -1], vec![0, 1]]);
    }

    #[test]
    fn reversed_axis_stays_non_negative() {
        // [2, 3] with the last axis reversed.
        let map = vec![2, 1, 0, 5, 4, 3];
        let t = separate(&map, &[2, 3]).expect("separable");
        assert!(t.iter().flatten().all(|&v| v >= 0));
        assert_eq!(t, vec![vec![0, 3], vec![2, 1, 0]]);
    }

    #[test]
    fn scattered_map_is_refused() {
        assert!(separate(&[0, 1, 3, 2], &[2, 2]).is_none());
    }
}
