//! Operator versions as LiteRT's `tflite/tools/versioning/op_version.cc` sets them for
//! the operators and types this writer emits (a runtime refuses a version it lacks, and
//! a too-high version would shut out older runtimes).

use super::model::{Model, Operator, Options};
use crate::schema::{BuiltinOperator as B, TensorType as T};

/// The version of `op` in `m`.
pub fn version(m: &Model, op: &Operator) -> i32 {
    let ty = |i: i32| (i >= 0).then(|| m.tensors[i as usize].ty);
    let rank = |i: i32| usize::try_from(i).map_or(0, |i| m.tensors[i].shape.len());
    let per_channel = |i: i32| {
        i >= 0
            && m.tensors[i as usize]
                .quant
                .as_ref()
                .is_some_and(|q| q.scale.len() > 1)
    };
    let in0 = ty(op.inputs[0]);
    let in1 = op.inputs.get(1).and_then(|&i| ty(i));
    let out0 = op.outputs.first().and_then(|&i| ty(i));
    let int8 = in0 == Some(T::INT8);
    let int8_io = int8 && in1 == Some(T::INT8) && out0 == Some(T::INT8);
    match op.code {
        B::TRANSPOSE_CONV => match &op.options {
            Options::TransposeConv { act, .. }
                if *act != crate::schema::ActivationFunctionType::NONE =>
            {
                4
            }
            _ if op.inputs.len() == 4 && op.inputs[3] >= 0 => 3,
            _ if in1 == Some(T::INT8) => 2,
            _ => 1,
        },
        B::CONV_2D | B::DEPTHWISE_CONV_2D
            if int8 && in1 == Some(T::INT4) && out0 == Some(T::INT8) =>
        {
            7
        }
        B::CONV_2D if int8_io => 3,
        B::CONV_2D => 1,
        B::DEPTHWISE_CONV_2D => {
            if int8 && in1 == Some(T::INT8) && out0 == Some(T::INT8) {
                return 3;
            }
            match &op.options {
                Options::DepthwiseConv2D { dilation, .. } if *dilation != [1, 1] => 2,
                _ => 1,
            }
        }
        B::FULLY_CONNECTED => {
            if op.inputs.len() == 2 {
                return 6;
            }
            if let Options::FullyConnected {
                keep_num_dims: true,
                ..
            } = op.options
            {
                return 5;
            }
            if int8 && in1 == Some(T::INT8) && out0 == Some(T::INT8) {
                4
            } else {
                1
            }
        }
        B::MUL => {
            let s = |i: i32| m.tensors[i as usize].quant.as_ref().map(|q| q.scale[0]);
            if let (Some(a), Some(b), Some(o)) = (
                s(op.inputs[0]),
                s(op.inputs[1]),
                op.outputs.first().and_then(|&i| s(i)),
            ) {
                if a * b / o >= 1.0 {
                    return 3;
                }
            }
            if int8 {
                2
            } else {
                1
            }
        }
        B::SUB if rank(op.inputs[0]) > 4 || op.inputs.get(1).is_some_and(|&i| rank(i) > 4) => 3,
        B::TRANSPOSE if rank(op.inputs[0]) > 5 => 6,
        B::TRANSPOSE if rank(op.inputs[0]) > 4 => 4,
        B::GATHER if in0 == Some(T::INT8) => 2,
        B::DEQUANTIZE => match in0 {
            Some(T::FLOAT16) | Some(T::INT16) => 3,
            Some(T::INT8) if per_channel(op.inputs[0]) => 5,
            Some(T::INT8) => 2,
            _ => 1,
        },
        B::QUANTIZE if op.outputs.first().is_some_and(|&o| per_channel(o)) => 3,
        B::QUANTIZE => 1,
        B::ADD
        | B::SUB
        | B::MAX_POOL_2D
        | B::AVERAGE_POOL_2D
        | B::TRANSPOSE
        | B::SOFTMAX
        | B::MEAN
        | B::RELU
        | B::RELU6
        | B::LOGISTIC
        | B::TANH
        | B::BATCH_MATMUL
        | B::CONCATENATION
        | B::PAD
            if int8 =>
        {
            2
        }
        _ => 1,
    }
}
