//! A graph using many ops with non-default attributes survives export → import
//! unchanged (the exporter and importer agree on every attribute's ONNX spelling).

use pare_ir::ops::{
    AutoPad, CoordTransform, Direction, GeluApprox, KeepAspect, NearestMode, PadMode, ResizeMode,
};
use pare_ir::{DType, Graph, Op, Tensor, TensorType, ValueId, Weight};
use pare_onnx::{export_model, import_bytes, ExportOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn w(g: &mut Graph, name: &str, t: Tensor) -> Option<ValueId> {
    Some(g.add_weight(name, Weight::from_tensor(&t)).unwrap())
}

fn f32s(shape: &[usize], v: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), vec![v; n]).unwrap()
}

fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
}

fn build() -> Graph {
    let mut g = Graph::new("ops");
    g.meta.opset = 21;
    g.meta.ir_version = 10;
    g.meta.producer_name = "pare-test".into();
    let x = Some(
        g.add_input("x", TensorType::fixed(DType::F32, &[1, 2, 4, 4]))
            .unwrap(),
    );
    let seq = Some(
        g.add_input("seq", TensorType::fixed(DType::F32, &[3, 1, 4]))
            .unwrap(),
    );
    let ph = || TensorType::scalar(DType::F32);
    let mut outs = Vec::new();
    let mut node =
        |g: &mut Graph, name: &str, op: Op, inputs: Vec<Option<ValueId>>, n_out: usize| {
            let o = (0..n_out)
                .map(|i| (format!("{name}_out{i}"), ph()))
                .collect();
            let (_, ids) = g.add_node(name, op, inputs, o).unwrap();
            outs.extend(ids.iter().copied());
            ids
        };
    let cw = w(&mut g, "cw", f32s(&[2, 2, 1, 1], 0.5));
    node(
        &mut g,
        "conv",
        Op::Conv {
            auto_pad: AutoPad::NotSet,
            kernel_shape: vec![1, 1],
            strides: vec![1, 1],
            pads: vec![0, 0, 0, 0],
            dilations: vec![1, 1],
            group: 1,
        },
        vec![x, cw],
        1,
    );
    let tw = w(&mut g, "tw", f32s(&[2, 2, 3, 3], 0.1));
    node(
        &mut g,
        "convt",
        Op::ConvTranspose {
            auto_pad: AutoPad::NotSet,
            kernel_shape: vec![3, 3],
            strides: vec![2, 2],
            pads: vec![1, 1, 1, 1],
            dilations: vec![1, 1],
            group: 1,
            output_padding: vec![1, 1],
            output_shape: vec![],
        },
        vec![x, tw],
        1,
    );
    node(
        &mut g,
        "maxpool",
        Op::MaxPool {
            auto_pad: AutoPad::SameUpper,
            kernel_shape: vec![2, 2],
            strides: vec![1, 1],
            pads: vec![0, 0, 0, 0],
            dilations: vec![1, 1],
            ceil_mode: false,
            storage_order: 0,
        },
        vec![x],
        1,
    );
    node(
        &mut g,
        "avgpool",
        Op::AveragePool {
            auto_pad: AutoPad::NotSet,
            kernel_shape: vec![3, 3],
            strides: vec![1, 1],
            pads: vec![1, 1, 1, 1],
            dilations: vec![1, 1],
            ceil_mode: true,
            count_include_pad: true,
        },
        vec![x],
        1,
    );
    let ls = w(&mut g, "ln_scale", f32s(&[4], 1.0));
    node(
        &mut g,
        "ln",
        Op::LayerNormalization {
            axis: -1,
            epsilon: 1e-3,
            stash_type: DType::F32,
        },
        vec![x, ls],
        1,
    );
    let scales = w(
        &mut g,
        "scales",
        Tensor::from_vec(vec![4], vec![1.0f32, 1.0, 2.0, 2.0]).unwrap(),
    );
    node(
        &mut g,
        "resize",
        Op::Resize {
            mode: ResizeMode::Linear,
            coordinate_transformation_mode: CoordTransform::AlignCorners,
            nearest_mode: NearestMode::Floor,
            cubic_coeff_a: -0.5,
            exclude_outside: false,
            extrapolation_value: 0.0,
            antialias: false,
            axes: None,
            keep_aspect_ratio_policy: KeepAspect::Stretch,
        },
        vec![x, None, scales],
        1,
    );
    let k = w(&mut g, "k", i64s(&[2]));
    node(
        &mut g,
        "topk",
        Op::TopK {
            axis: -1,
            largest: false,
            sorted: true,
        },
        vec![x, k],
        2,
    );
    node(
        &mut g,
        "softmax",
        Op::Softmax {
            axis: -1,
            coerce_2d: false,
        },
        vec![x],
        1,
    );
    let axes = w(&mut g, "axes", i64s(&[2, 3]));
    node(
        &mut g,
        "mean",
        Op::ReduceMean {
            keepdims: true,
            noop_with_empty_axes: false,
        },
        vec![x, axes],
        1,
    );
    node(
        &mut g,
        "split",
        Op::Split {
            axis: 1,
            num_outputs: Some(2),
        },
        vec![x],
        2,
    );
    let lw = w(&mut g, "lw", f32s(&[1, 16, 4], 0.1));
    let lr = w(&mut g, "lr", f32s(&[1, 16, 4], 0.1));
    node(
        &mut g,
        "lstm",
        Op::Lstm {
            direction: Direction::Forward,
            hidden_size: 4,
            activations: vec!["Sigmoid".into(), "Tanh".into(), "Tanh".into()],
            activation_alpha: vec![],
            activation_beta: vec![],
            clip: Some(1.5),
            input_forget: false,
            layout: 0,
        },
        vec![seq, lw, lr],
        3,
    );
    let qs = w(&mut g, "qs", Tensor::scalar(0.05f32));
    let qz = w(&mut g, "qz", Tensor::scalar(3u8));
    let q = node(
        &mut g,
        "quant",
        Op::QuantizeLinear {
            axis: 1,
            saturate: true,
            block_size: 0,
        },
        vec![x, qs, qz],
        1,
    );
    node(
        &mut g,
        "dequant",
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        vec![Some(q[0]), qs, qz],
        1,
    );
    node(
        &mut g,
        "gelu",
        Op::Gelu {
            approximate: GeluApprox::Tanh,
        },
        vec![x],
        1,
    );
    node(&mut g, "cast", Op::Cast { to: DType::F16 }, vec![x], 1);
    node(
        &mut g,
        "transpose",
        Op::Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        },
        vec![x],
        1,
    );
    node(
        &mut g,
        "shape",
        Op::Shape {
            start: 1,
            end: None,
        },
        vec![x],
        1,
    );
    let pads = w(&mut g, "pads", i64s(&[0, 0, 1, 1, 0, 0, 1, 1]));
    node(
        &mut g,
        "pad",
        Op::Pad {
            mode: PadMode::Reflect,
        },
        vec![x, pads],
        1,
    );
    node(&mut g, "s2d", Op::SpaceToDepth { blocksize: 2 }, vec![x], 1);
    node(&mut g, "dropout", Op::Dropout {}, vec![x], 2);
    node(&mut g, "leaky", Op::LeakyRelu { alpha: 0.2 }, vec![x], 1);
    node(
        &mut g,
        "hsig",
        Op::HardSigmoid {
            alpha: 0.25,
            beta: 0.5,
        },
        vec![x],
        1,
    );
    let a = w(&mut g, "ga", f32s(&[2, 4], 1.0));
    let b = w(&mut g, "gb", f32s(&[3, 4], 1.0));
    let c = w(&mut g, "gc", f32s(&[3], 1.0));
    node(
        &mut g,
        "gemm",
        Op::Gemm {
            alpha: 0.5,
            beta: 2.0,
            trans_a: false,
            trans_b: true,
        },
        vec![a, b, c],
        1,
    );
    node(
        &mut g,
        "einsum",
        Op::Einsum {
            equation: "ij,kj->ik".into(),
        },
        vec![a, b],
        1,
    );
    let shp = w(&mut g, "shp", i64s(&[2, 3]));
    node(
        &mut g,
        "cos",
        Op::ConstantOfShape {
            dtype: DType::I32,
            value: 7.0,
        },
        vec![shp],
        1,
    );
    node(
        &mut g,
        "argmax",
        Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: true,
        },
        vec![x],
        1,
    );
    node(&mut g, "flatten", Op::Flatten { axis: 2 }, vec![x], 1);
    g.outputs = outs;
    g
}

#[test]
fn many_ops_round_trip() -> TestResult {
    let mut g = build();
    // The hand-built graph carries placeholder output types; the importer infers them.
    pare_ir::infer::infer_graph(&mut g)?;
    let bytes = export_model(&g, &ExportOptions::default())?;
    if let Some(dir) = std::env::var_os("PARE_ONNX_DUMP") {
        std::fs::write(
            std::path::Path::new(&dir).join("roundtrip_ops.onnx"),
            &bytes,
        )?;
    }
    let g2 = import_bytes(&bytes, None, "ops").unwrap_or_else(|e| panic!("{e}"));
    for ((_, a), (_, b)) in g.nodes().zip(g2.nodes()) {
        assert_eq!(a.op, b.op, "node {}", a.name);
    }
    assert_eq!(pare_ir::text::print(&g2), pare_ir::text::print(&g));
    assert!(g2 == g);
    Ok(())
}

/// Attributes at their ONNX schema default are left out of the file (a small
/// model's nodes are a measurable share of its bytes); others are written.
#[test]
fn schema_defaults_are_left_out() -> TestResult {
    use pare_onnx::proto::ModelProto;
    use prost::Message;
    let mut g = build();
    pare_ir::infer::infer_graph(&mut g)?;
    let bytes = export_model(&g, &ExportOptions::default())?;
    let m = ModelProto::decode(bytes.as_slice())?;
    let attrs = |name: &str| -> Vec<String> {
        let n = m
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .find(|n| n.name.as_deref() == Some(name));
        let mut a: Vec<String> = n
            .unwrap_or_else(|| panic!("no node {name}"))
            .attribute
            .iter()
            .map(|a| a.name.clone().unwrap_or_default())
            .collect();
        a.sort();
        a
    };
    // conv: every attribute but kernel_shape at its default.
    assert_eq!(attrs("conv"), vec!["kernel_shape"]);
    // convt: strides, pads and output_padding differ from the defaults.
    assert_eq!(
        attrs("convt"),
        vec!["kernel_shape", "output_padding", "pads", "strides"]
    );
    // gemm: alpha, beta and transB differ; transA is the default.
    assert_eq!(attrs("gemm"), vec!["alpha", "beta", "transB"]);
    Ok(())
}
