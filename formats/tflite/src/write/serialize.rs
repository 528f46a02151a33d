//! Serializes a [`Model`] as a TFLite flatbuffer: identifier `TFL3`, `Model.version` 3,
//! every constant buffer starting at a multiple of 16 bytes (as the TFLite converter
//! aligns them, so kernels can read weights in place), the file a multiple of 16 bytes.

use super::model::{Model, Operator, Options, Tensor};
use crate::schema as fb;
use crate::TfliteError;
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use std::collections::HashMap;

/// TFLite schema revision the writer targets.
pub const SCHEMA_VERSION: u32 = 3;
/// Alignment of constant buffers, in bytes.
pub const BUFFER_ALIGN: usize = 16;
/// Flatbuffers use 32-bit offsets: keep well under 2 GiB.
const MAX_BYTES: usize = (1 << 31) - (1 << 20);

/// The model as `.tflite` bytes.
pub fn serialize(m: &Model) -> Result<Vec<u8>, TfliteError> {
    let data_bytes: usize = m.buffers.iter().map(Vec::len).sum();
    if data_bytes > MAX_BYTES {
        return Err(TfliteError::TooLarge(data_bytes));
    }
    let mut fbb = FlatBufferBuilder::with_capacity(data_bytes + 64 * 1024);
    // The builder writes back to front: buffers first puts their data at the end of
    // the file, after the tables, where padding costs least.
    let mut buffers = Vec::with_capacity(m.buffers.len() + m.metadata.len());
    for data in &m.buffers {
        let data = (!data.is_empty()).then(|| aligned_bytes(&mut fbb, data));
        buffers.push(fb::Buffer::create(
            &mut fbb,
            &fb::BufferArgs {
                data,
                ..Default::default()
            },
        ));
    }
    let mut metadata = Vec::new();
    for (name, bytes) in &m.metadata {
        let data = Some(aligned_bytes(&mut fbb, bytes));
        let buffer = buffers.len() as u32;
        buffers.push(fb::Buffer::create(
            &mut fbb,
            &fb::BufferArgs {
                data,
                ..Default::default()
            },
        ));
        let name = Some(fbb.create_string(name));
        metadata.push(fb::Metadata::create(
            &mut fbb,
            &fb::MetadataArgs { name, buffer },
        ));
    }
    let buffers = fbb.create_vector(&buffers);
    let metadata = fbb.create_vector(&metadata);

    // Operator codes: one per (builtin, version), in order of first use.
    let mut codes: Vec<(fb::BuiltinOperator, i32)> = Vec::new();
    let mut op_index = Vec::with_capacity(m.operators.len());
    for op in &m.operators {
        let key = (op.code, op.version);
        let i = match codes.iter().position(|c| *c == key) {
            Some(i) => i,
            None => {
                codes.push(key);
                codes.len() - 1
            }
        };
        op_index.push(i as u32);
    }
    let codes: Vec<_> = codes
        .iter()
        .map(|&(code, version)| {
            fb::OperatorCode::create(
                &mut fbb,
                &fb::OperatorCodeArgs {
                    // Builtins past 127 are only in `builtin_code`; the old field says so.
                    deprecated_builtin_code: code.0.min(127) as i8,
                    custom_code: None,
                    version,
                    builtin_code: code,
                },
            )
        })
        .collect();
    let codes = fbb.create_vector(&codes);

    let mut shared = Shared::default();
    let tensors: Vec<_> = m
        .tensors
        .iter()
        .map(|t| tensor(&mut fbb, &mut shared, t))
        .collect();
    let tensors = fbb.create_vector(&tensors);
    let operators: Vec<_> = m
        .operators
        .iter()
        .zip(&op_index)
        .map(|(op, &i)| operator(&mut fbb, op, i))
        .collect();
    let operators = fbb.create_vector(&operators);
    let in_idx: Vec<i32> = m.inputs.iter().map(|(_, t)| *t).collect();
    let out_idx: Vec<i32> = m.outputs.iter().map(|(_, t)| *t).collect();
    let inputs = fbb.create_vector(&in_idx);
    let outputs = fbb.create_vector(&out_idx);
    let name = fbb.create_string("main");
    let subgraph = fb::SubGraph::create(
        &mut fbb,
        &fb::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(operators),
            name: Some(name),
            ..Default::default()
        },
    );
    let subgraphs = fbb.create_vector(&[subgraph]);

    let sig_inputs = tensor_maps(&mut fbb, &m.inputs);
    let sig_outputs = tensor_maps(&mut fbb, &m.outputs);
    let key = fbb.create_string("serving_default");
    let signature = fb::SignatureDef::create(
        &mut fbb,
        &fb::SignatureDefArgs {
            inputs: Some(sig_inputs),
            outputs: Some(sig_outputs),
            signature_key: Some(key),
            subgraph_index: 0,
        },
    );
    let signature_defs = fbb.create_vector(&[signature]);
    let description = fbb.create_string(&m.description);
    let root = fb::Model::create(
        &mut fbb,
        &fb::ModelArgs {
            version: SCHEMA_VERSION,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            description: Some(description),
            buffers: Some(buffers),
            metadata: Some(metadata),
            signature_defs: Some(signature_defs),
            ..Default::default()
        },
    );
    // The header (root offset + identifier) is 8 bytes: padding the rest to 8 mod 16
    // makes the whole file a multiple of 16, so the buffer offsets counted from the end
    // are aligned from the start too.
    let used = fbb.unfinished_data().len();
    for _ in 0..(BUFFER_ALIGN + 8 - used % BUFFER_ALIGN) % BUFFER_ALIGN {
        fbb.push(0u8);
    }
    fb::finish_model_buffer(&mut fbb, root);
    Ok(fbb.finished_data().to_vec())
}

/// A byte vector whose first element sits at a multiple of [`BUFFER_ALIGN`] counted
/// from the end of the file (the file length is made a multiple of it at the end).
fn aligned_bytes<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    data: &[u8],
) -> WIPOffset<flatbuffers::Vector<'a, u8>> {
    let used = fbb.unfinished_data().len();
    // `create_vector` pads to 4 so that used + len is a multiple of 4: padding to 16
    // first leaves it nothing to add.
    for _ in 0..(BUFFER_ALIGN - (used + data.len()) % BUFFER_ALIGN) % BUFFER_ALIGN {
        fbb.push(0u8);
    }
    fbb.create_vector(data)
}

fn tensor_maps<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    entries: &[(String, i32)],
) -> WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::TensorMap<'a>>>> {
    let maps: Vec<_> = entries
        .iter()
        .map(|(name, t)| {
            let name = Some(fbb.create_string(name));
            fb::TensorMap::create(
                fbb,
                &fb::TensorMapArgs {
                    name,
                    tensor_index: *t as u32,
                },
            )
        })
        .collect();
    fbb.create_vector(&maps)
}

/// Shapes and quantization tables already written: tensors with equal ones point at
/// the same bytes (a flatbuffer may share a table or vector between several parents).
#[derive(Default)]
struct Shared<'a> {
    shapes: HashMap<Vec<i32>, WIPOffset<flatbuffers::Vector<'a, i32>>>,
    quants: HashMap<(Vec<u32>, Vec<i64>, i32), WIPOffset<fb::QuantizationParameters<'a>>>,
}

impl<'a> Shared<'a> {
    fn shape(
        &mut self,
        fbb: &mut FlatBufferBuilder<'a>,
        dims: &[i32],
    ) -> WIPOffset<flatbuffers::Vector<'a, i32>> {
        *self
            .shapes
            .entry(dims.to_vec())
            .or_insert_with(|| fbb.create_vector(dims))
    }
}

fn tensor<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    shared: &mut Shared<'a>,
    t: &Tensor,
) -> WIPOffset<fb::Tensor<'a>> {
    let shape = Some(shared.shape(fbb, &t.shape));
    let shape_signature = t.signature.as_ref().map(|s| shared.shape(fbb, s));
    let name = Some(fbb.create_string(&t.name));
    let quantization = t.quant.as_ref().map(|q| {
        let key = (
            q.scale.iter().map(|s| s.to_bits()).collect(),
            q.zero_point.clone(),
            q.dim,
        );
        *shared.quants.entry(key).or_insert_with(|| {
            let scale = Some(fbb.create_vector(&q.scale));
            let zero_point = Some(fbb.create_vector(&q.zero_point));
            fb::QuantizationParameters::create(
                fbb,
                &fb::QuantizationParametersArgs {
                    scale,
                    zero_point,
                    quantized_dimension: q.dim,
                    ..Default::default()
                },
            )
        })
    });
    fb::Tensor::create(
        fbb,
        &fb::TensorArgs {
            shape,
            type_: t.ty,
            buffer: t.buffer,
            name,
            quantization,
            shape_signature,
            has_rank: true,
            ..Default::default()
        },
    )
}

fn operator<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    op: &Operator,
    opcode_index: u32,
) -> WIPOffset<fb::Operator<'a>> {
    let inputs = Some(fbb.create_vector(&op.inputs));
    let outputs = Some(fbb.create_vector(&op.outputs));
    let (builtin_options_type, builtin_options) = options(fbb, op);
    fb::Operator::create(
        fbb,
        &fb::OperatorArgs {
            opcode_index,
            inputs,
            outputs,
            builtin_options_type,
            builtin_options,
            ..Default::default()
        },
    )
}

/// The builtin options table of `op` and its union tag.
fn options(
    fbb: &mut FlatBufferBuilder<'_>,
    op: &Operator,
) -> (fb::BuiltinOptions, Option<WIPOffset<UnionWIPOffset>>) {
    use fb::BuiltinOperator as B;
    use fb::BuiltinOptions as O;
    let (kind, table) = match &op.options {
        Options::None => return (O::NONE, None),
        Options::Conv2D {
            padding,
            stride,
            dilation,
            act,
        } => (
            O::Conv2DOptions,
            fb::Conv2DOptions::create(
                fbb,
                &fb::Conv2DOptionsArgs {
                    padding: *padding,
                    stride_h: stride[0],
                    stride_w: stride[1],
                    dilation_h_factor: dilation[0],
                    dilation_w_factor: dilation[1],
                    fused_activation_function: *act,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::DepthwiseConv2D {
            padding,
            stride,
            dilation,
            depth_multiplier,
            act,
        } => (
            O::DepthwiseConv2DOptions,
            fb::DepthwiseConv2DOptions::create(
                fbb,
                &fb::DepthwiseConv2DOptionsArgs {
                    padding: *padding,
                    stride_h: stride[0],
                    stride_w: stride[1],
                    dilation_h_factor: dilation[0],
                    dilation_w_factor: dilation[1],
                    depth_multiplier: *depth_multiplier,
                    fused_activation_function: *act,
                },
            )
            .as_union_value(),
        ),
        Options::FullyConnected { act, keep_num_dims } => (
            O::FullyConnectedOptions,
            fb::FullyConnectedOptions::create(
                fbb,
                &fb::FullyConnectedOptionsArgs {
                    fused_activation_function: *act,
                    keep_num_dims: *keep_num_dims,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::Binary { act } => match op.code {
            B::MUL => (
                O::MulOptions,
                fb::MulOptions::create(
                    fbb,
                    &fb::MulOptionsArgs {
                        fused_activation_function: *act,
                    },
                )
                .as_union_value(),
            ),
            B::SUB => (
                O::SubOptions,
                fb::SubOptions::create(
                    fbb,
                    &fb::SubOptionsArgs {
                        fused_activation_function: *act,
                        ..Default::default()
                    },
                )
                .as_union_value(),
            ),
            _ => (
                O::AddOptions,
                fb::AddOptions::create(
                    fbb,
                    &fb::AddOptionsArgs {
                        fused_activation_function: *act,
                        ..Default::default()
                    },
                )
                .as_union_value(),
            ),
        },
        Options::Pool2D {
            padding,
            stride,
            filter,
            act,
        } => (
            O::Pool2DOptions,
            fb::Pool2DOptions::create(
                fbb,
                &fb::Pool2DOptionsArgs {
                    padding: *padding,
                    stride_h: stride[0],
                    stride_w: stride[1],
                    filter_height: filter[0],
                    filter_width: filter[1],
                    fused_activation_function: *act,
                },
            )
            .as_union_value(),
        ),
        Options::Reshape { new_shape } => {
            let new_shape = Some(fbb.create_vector(new_shape));
            (
                O::ReshapeOptions,
                fb::ReshapeOptions::create(fbb, &fb::ReshapeOptionsArgs { new_shape })
                    .as_union_value(),
            )
        }
        Options::Softmax { beta } => (
            O::SoftmaxOptions,
            fb::SoftmaxOptions::create(fbb, &fb::SoftmaxOptionsArgs { beta: *beta })
                .as_union_value(),
        ),
        Options::Reducer { keep_dims } => (
            O::ReducerOptions,
            fb::ReducerOptions::create(
                fbb,
                &fb::ReducerOptionsArgs {
                    keep_dims: *keep_dims,
                },
            )
            .as_union_value(),
        ),
        Options::Concatenation { axis } => (
            O::ConcatenationOptions,
            fb::ConcatenationOptions::create(
                fbb,
                &fb::ConcatenationOptionsArgs {
                    axis: *axis,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::Gather { axis } => (
            O::GatherOptions,
            fb::GatherOptions::create(
                fbb,
                &fb::GatherOptionsArgs {
                    axis: *axis,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::LeakyRelu { alpha } => (
            O::LeakyReluOptions,
            fb::LeakyReluOptions::create(fbb, &fb::LeakyReluOptionsArgs { alpha: *alpha })
                .as_union_value(),
        ),
        Options::TransposeConv {
            padding,
            stride,
            act,
        } => (
            O::TransposeConvOptions,
            fb::TransposeConvOptions::create(
                fbb,
                &fb::TransposeConvOptionsArgs {
                    padding: *padding,
                    stride_h: stride[0],
                    stride_w: stride[1],
                    fused_activation_function: *act,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::BatchMatMul { adj_x, adj_y } => (
            O::BatchMatMulOptions,
            fb::BatchMatMulOptions::create(
                fbb,
                &fb::BatchMatMulOptionsArgs {
                    adj_x: *adj_x,
                    adj_y: *adj_y,
                    ..Default::default()
                },
            )
            .as_union_value(),
        ),
        Options::Empty => match op.code {
            B::TRANSPOSE => (
                O::TransposeOptions,
                fb::TransposeOptions::create(fbb, &fb::TransposeOptionsArgs {}).as_union_value(),
            ),
            B::QUANTIZE => (
                O::QuantizeOptions,
                fb::QuantizeOptions::create(fbb, &fb::QuantizeOptionsArgs {}).as_union_value(),
            ),
            B::DEQUANTIZE => (
                O::DequantizeOptions,
                fb::DequantizeOptions::create(fbb, &fb::DequantizeOptionsArgs {}).as_union_value(),
            ),
            B::HARD_SWISH => (
                O::HardSwishOptions,
                fb::HardSwishOptions::create(fbb, &fb::HardSwishOptionsArgs {}).as_union_value(),
            ),
            _ => return (O::NONE, None),
        },
    };
    (kind, Some(table))
}
