//! Clean-ups on the written model, after lowering: RESHAPE chains merged, reshapes
//! and transposes that change nothing dropped, transposes of a transpose composed,
//! a TRANSPOSE that only moves dims of size 1 written as a RESHAPE; then unused
//! tensors and buffers removed and identical constant buffers shared.

use super::model::{Model, Operator, Options};
use crate::schema::BuiltinOperator as B;
use std::collections::HashMap;

/// Runs the clean-ups to a fixpoint and compacts the model.
pub fn run(m: &mut Model) {
    loop {
        let changed = transpose_to_reshape(m) | merge_chains(m) | drop_identities(m);
        if !changed {
            break;
        }
    }
    compact(m);
}

/// The ops reading each tensor, and whether it is a model output.
fn readers(m: &Model) -> (Vec<usize>, Vec<bool>) {
    let mut n = vec![0; m.tensors.len()];
    for op in &m.operators {
        for &i in op.inputs.iter().filter(|&&i| i >= 0) {
            n[i as usize] += 1;
        }
    }
    let mut out = vec![false; m.tensors.len()];
    for (_, t) in &m.outputs {
        out[*t as usize] = true;
    }
    (n, out)
}

/// The op writing each tensor.
fn producers(m: &Model) -> HashMap<i32, usize> {
    let mut p = HashMap::new();
    for (k, op) in m.operators.iter().enumerate() {
        for &o in &op.outputs {
            p.insert(o, k);
        }
    }
    p
}

/// The constant int32 vector of tensor `t`.
fn i32s(m: &Model, t: i32) -> Option<Vec<i32>> {
    let b = &m.buffers[m.tensors[t as usize].buffer as usize];
    (!b.is_empty()).then(|| {
        b.chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// The dims of `t` as written for shapes: its signature (-1 for symbolic) or shape.
fn dims(m: &Model, t: i32) -> Vec<i32> {
    let t = &m.tensors[t as usize];
    t.signature.clone().unwrap_or_else(|| t.shape.clone())
}

/// A TRANSPOSE whose non-unit dims keep their order moves no data: a RESHAPE.
fn transpose_to_reshape(m: &mut Model) -> bool {
    let mut changed = false;
    for k in 0..m.operators.len() {
        let op = &m.operators[k];
        // Ops merged away keep their slot, without outputs, until `compact`.
        if op.code != B::TRANSPOSE || op.outputs.is_empty() {
            continue;
        }
        let (x, out) = (op.inputs[0], op.outputs[0]);
        let Some(perm) = i32s(m, op.inputs[1]) else {
            continue;
        };
        let d = dims(m, x);
        // A symbolic dim (-1) counts as one that may exceed 1: it must keep its place
        // among the others too.
        let moved: Vec<i32> = perm
            .iter()
            .copied()
            .filter(|&p| d[p as usize] != 1)
            .collect();
        if !moved.windows(2).all(|w| w[0] < w[1]) {
            continue;
        }
        let new_shape = dims(m, out);
        // A RESHAPE infers at most one -1.
        if new_shape.iter().filter(|&&v| v < 0).count() > 1 {
            continue;
        }
        let name = format!("{}_shape", m.tensors[out as usize].name);
        let st = shape_const(m, &name, &new_shape);
        m.operators[k] = Operator {
            code: B::RESHAPE,
            version: 1,
            inputs: vec![x, st],
            outputs: vec![out],
            options: Options::Reshape { new_shape },
        };
        changed = true;
    }
    changed
}

fn shape_const(m: &mut Model, name: &str, v: &[i32]) -> i32 {
    m.add_tensor(
        super::model::Tensor {
            name: name.to_string(),
            shape: vec![v.len() as i32],
            signature: None,
            ty: crate::schema::TensorType::INT32,
            buffer: 0,
            quant: None,
        },
        Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    )
}

/// RESHAPE of a RESHAPE read only there: reshape the first one's input directly.
/// TRANSPOSE of a TRANSPOSE read only there: one TRANSPOSE of the composed perm.
fn merge_chains(m: &mut Model) -> bool {
    let (n, is_out) = readers(m);
    let prod = producers(m);
    for k in 0..m.operators.len() {
        let code = m.operators[k].code;
        if (code != B::RESHAPE && code != B::TRANSPOSE) || m.operators[k].outputs.is_empty() {
            continue;
        }
        let x = m.operators[k].inputs[0];
        let Some(&p) = prod.get(&x) else { continue };
        if m.operators[p].code != code || n[x as usize] != 1 || is_out[x as usize] {
            continue;
        }
        let src = m.operators[p].inputs[0];
        if code == B::TRANSPOSE {
            let (Some(p1), Some(p2)) = (
                i32s(m, m.operators[p].inputs[1]),
                i32s(m, m.operators[k].inputs[1]),
            ) else {
                continue;
            };
            let composed: Vec<i32> = p2.iter().map(|&i| p1[i as usize]).collect();
            let name = format!(
                "{}_perm",
                m.tensors[m.operators[k].outputs[0] as usize].name
            );
            let pt = shape_const(m, &name, &composed);
            m.operators[k].inputs[1] = pt;
        }
        m.operators[k].inputs[0] = src;
        // The first op now feeds nothing: removed by `compact`.
        m.operators[p].outputs.clear();
        return true;
    }
    false
}

/// A RESHAPE to its input's own dims, or a TRANSPOSE by the identity: its readers
/// read the input instead (unless its output is a model output).
fn drop_identities(m: &mut Model) -> bool {
    let (_, is_out) = readers(m);
    for k in 0..m.operators.len() {
        let op = &m.operators[k];
        if op.outputs.is_empty() {
            continue;
        }
        let (x, out) = (op.inputs[0], op.outputs[0]);
        let identity = match op.code {
            B::RESHAPE => {
                let (a, b) = (&m.tensors[x as usize], &m.tensors[out as usize]);
                a.shape == b.shape && a.signature == b.signature
            }
            B::TRANSPOSE => i32s(m, op.inputs[1])
                .is_some_and(|p| p.iter().enumerate().all(|(i, &v)| i as i32 == v)),
            _ => false,
        };
        if !identity || is_out[out as usize] {
            continue;
        }
        for other in &mut m.operators {
            for i in other.inputs.iter_mut() {
                if *i == out {
                    *i = x;
                }
            }
        }
        m.operators[k].outputs.clear();
        return true;
    }
    false
}

/// Drops dead ops, unused tensors and buffers; shares identical constant buffers.
fn compact(m: &mut Model) {
    m.operators.retain(|op| !op.outputs.is_empty());
    let mut used = vec![false; m.tensors.len()];
    for op in &m.operators {
        for &i in op.inputs.iter().chain(&op.outputs).filter(|&&i| i >= 0) {
            used[i as usize] = true;
        }
    }
    for (_, t) in m.inputs.iter().chain(&m.outputs) {
        used[*t as usize] = true;
    }
    let mut remap = vec![-1i32; m.tensors.len()];
    let mut tensors = Vec::new();
    for (i, t) in m.tensors.iter().enumerate() {
        if used[i] {
            remap[i] = tensors.len() as i32;
            tensors.push(t.clone());
        }
    }
    for op in &mut m.operators {
        for i in op.inputs.iter_mut().chain(op.outputs.iter_mut()) {
            if *i >= 0 {
                *i = remap[*i as usize];
            }
        }
    }
    for (_, t) in m.inputs.iter_mut().chain(m.outputs.iter_mut()) {
        *t = remap[*t as usize];
    }
    // Buffers in first-use order, identical contents written once (buffer 0 stays
    // the empty sentinel).
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new()];
    let mut by_content: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut moved: HashMap<u32, u32> = HashMap::new();
    for t in &mut tensors {
        if t.buffer == 0 {
            continue;
        }
        if let Some(&idx) = moved.get(&t.buffer) {
            t.buffer = idx;
            continue;
        }
        let data = std::mem::take(&mut m.buffers[t.buffer as usize]);
        let idx = *by_content.entry(data.clone()).or_insert_with(|| {
            buffers.push(data);
            (buffers.len() - 1) as u32
        });
        moved.insert(t.buffer, idx);
        t.buffer = idx;
    }
    m.tensors = tensors;
    m.buffers = buffers;
}
