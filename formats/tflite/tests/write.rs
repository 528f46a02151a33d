//! The writer on small graphs written in pare's textual IR: the flatbuffer's header,
//! alignment and determinism, the NHWC lowering (weights re-laid, no transposes,
//! fused activations, symbolic batch in the signature), and errors naming the node.

use pare_tflite::schema::{self as fb, ActivationFunctionType, BuiltinOperator as B};

const CNN: &str = r#"graph @tiny(%x "x": f32[N,2,4,4]) -> (f32[N,3]) {
  $w "w": f32[3,2,3,3] = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.1, 0.2, -0.3, 0.4, -0.5, 0.6, -0.7, 0.8, -0.9, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
  $b "b": f32[3] = [0.5, -0.5, 0.25]
  $shape "shape": i64[2] = [-1, 48]
  $fw "fw": f32[3,48] = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48, -0.01, -0.02, -0.03, -0.04, -0.05, -0.06, -0.07, -0.08, -0.09, -0.1, -0.11, -0.12, -0.13, -0.14, -0.15, -0.16, -0.17, -0.18, -0.19, -0.2, -0.21, -0.22, -0.23, -0.24, -0.25, -0.26, -0.27, -0.28, -0.29, -0.3, -0.31, -0.32, -0.33, -0.34, -0.35, -0.36, -0.37, -0.38, -0.39, -0.4, -0.41, -0.42, -0.43, -0.44, -0.45, -0.46, -0.47, -0.48, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
  %c "c": f32[N,3,4,4] = conv(%x, $w, $b) "conv" {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
  %r "r": f32[N,3,4,4] = relu(%c) "relu"
  %f "f": f32[N,48] = flatten(%r) "flatten" {axis=1}
  %y "y": f32[N,3] = gemm(%f, $fw) "fc" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}"#;

fn write(src: &str) -> Vec<u8> {
    let g = pare_ir::text::parse(src).expect("parses");
    pare_tflite::write(&g).expect("writes")
}

#[test]
fn header_alignment_and_determinism() {
    let bytes = write(CNN);
    assert_eq!(bytes, write(CNN), "same graph, same bytes");
    // The root offset comes first, then the identifier (planus 1.3 got this order wrong).
    assert_eq!(&bytes[4..8], b"TFL3");
    assert_eq!(bytes.len() % pare_tflite::BUFFER_ALIGN, 0);
    let m = fb::root_as_model(&bytes).expect("the verifier accepts it");
    assert_eq!(m.version(), pare_tflite::SCHEMA_VERSION);
    let base = bytes.as_ptr() as usize;
    let mut constants = 0;
    for b in m.buffers().unwrap().iter() {
        if let Some(d) = b.data() {
            constants += 1;
            assert_eq!((d.bytes().as_ptr() as usize - base) % 16, 0);
        }
    }
    assert!(constants >= 4, "{constants} constant buffers");
    assert!(
        m.buffers().unwrap().get(0).data().is_none(),
        "buffer 0 is empty"
    );
}

#[test]
fn nhwc_lowering_fuses_relu_and_relays_weights() {
    let bytes = write(CNN);
    let m = fb::root_as_model(&bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let ops: Vec<_> = sg.operators().unwrap().iter().collect();
    let kinds: Vec<_> = ops
        .iter()
        .map(|o| codes.get(o.opcode_index() as usize).builtin_code())
        .collect();
    assert_eq!(kinds, [B::CONV_2D, B::RESHAPE, B::FULLY_CONNECTED]);
    let conv = ops[0].builtin_options_as_conv_2_doptions().unwrap();
    assert_eq!(
        conv.fused_activation_function(),
        ActivationFunctionType::RELU
    );
    assert_eq!(conv.padding(), fb::Padding::SAME);
    let tensors = sg.tensors().unwrap();
    let shape = |i: i32| {
        tensors
            .get(i as usize)
            .shape()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    };
    let input = sg.inputs().unwrap().get(0);
    assert_eq!(shape(input), [1, 4, 4, 2], "NHWC input, batch 1");
    let sig: Vec<_> = tensors
        .get(input as usize)
        .shape_signature()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(sig, [-1, 4, 4, 2], "the symbolic batch is -1");
    // OIHW → OHWI: weight[o=0, h=0, w=0, i=1] is OIHW weight[0, 1, 0, 0] = 0.1.
    let w = tensors.get(ops[0].inputs().unwrap().get(1) as usize);
    assert_eq!(w.shape().unwrap().iter().collect::<Vec<_>>(), [3, 3, 3, 2]);
    let data = m
        .buffers()
        .unwrap()
        .get(w.buffer() as usize)
        .data()
        .unwrap()
        .bytes();
    let f = |i: usize| f32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!((f(0), f(1)), (0.1, 0.1));
    assert_eq!((f(2), f(3)), (-0.2, 0.2));
    // The FC's columns follow the flatten of the NHWC tensor: column (h, w, c).
    let fw = tensors.get(ops[2].inputs().unwrap().get(1) as usize);
    let fd = m
        .buffers()
        .unwrap()
        .get(fw.buffer() as usize)
        .data()
        .unwrap()
        .bytes();
    let g = |i: usize| f32::from_le_bytes(fd[i * 4..i * 4 + 4].try_into().unwrap());
    // HWC column 1 is (h0, w0, c1) = CHW column 16.
    assert_eq!(g(1), 0.17);
    let sig = m.signature_defs().unwrap().get(0);
    assert_eq!(sig.signature_key(), Some("serving_default"));
    assert_eq!(sig.inputs().unwrap().get(0).name(), Some("x"));
    assert_eq!(sig.outputs().unwrap().get(0).name(), Some("y"));
}

#[test]
fn an_op_without_a_lowering_names_its_node() {
    let src = r#"graph @g(%x "x": f32[2,3]) -> (f32[2,3]) {
  %y "y": f32[2,3] = erf(%x) "the_erf"
  return %y
}"#;
    let g = pare_ir::text::parse(src).unwrap();
    let e = pare_tflite::write(&g).unwrap_err().to_string();
    assert!(e.contains("the_erf") && e.contains("erf"), "{e}");
}

#[test]
fn pads_same_cannot_express_become_a_pad_op() {
    // A 1x1 conv padded by 1 on every side (as PyTorch pads): PAD, then a VALID conv.
    let src = r#"graph @g(%x "x": f32[1,1,4,4]) -> (f32[1,1,6,6]) {
  $w "w": f32[1,1,1,1] = [1.0]
  %y "y": f32[1,1,6,6] = conv(%x, $w) "padded" {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
  return %y
}"#;
    let bytes = write(src);
    let m = fb::root_as_model(&bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let ops: Vec<_> = sg.operators().unwrap().iter().collect();
    let kinds: Vec<_> = ops
        .iter()
        .map(|o| codes.get(o.opcode_index() as usize).builtin_code())
        .collect();
    assert_eq!(kinds, [B::PAD, B::CONV_2D]);
    let conv = ops[1].builtin_options_as_conv_2_doptions().unwrap();
    assert_eq!(conv.padding(), fb::Padding::VALID);
    let padded = sg
        .tensors()
        .unwrap()
        .get(ops[0].outputs().unwrap().get(0) as usize);
    assert_eq!(
        padded.shape().unwrap().iter().collect::<Vec<_>>(),
        [1, 6, 6, 1]
    );
}

#[test]
fn pool_pads_neither_same_nor_valid_are_an_error() {
    let src = r#"graph @g(%x "x": f32[1,1,4,4]) -> (f32[1,1,3,3]) {
  %y "y": f32[1,1,3,3] = max_pool(%x) "pool" {auto_pad="NOTSET", kernel_shape=[2,2], strides=[2,2], pads=[1,1,1,1], dilations=[1,1], ceil_mode=false, storage_order=0}
  return %y
}"#;
    let g = pare_ir::text::parse(src).unwrap();
    let e = pare_tflite::write(&g).unwrap_err().to_string();
    assert!(
        e.contains("pool") && e.contains("neither SAME nor VALID"),
        "{e}"
    );
}

#[test]
fn reshape_chains_merge_and_unit_transposes_become_reshapes() {
    // reshape → transpose moving only a unit dim → reshape: one RESHAPE remains.
    let src = r#"graph @g(%x "x": f32[2,6]) -> (f32[12]) {
  $s1 "s1": i64[3] = [2, 1, 6]
  $s2 "s2": i64[1] = [12]
  %a "a": f32[2,1,6] = reshape(%x, $s1) "r1" {allowzero=false}
  %b "b": f32[1,2,6] = transpose(%a) "t" {perm=[1,0,2]}
  %y "y": f32[12] = reshape(%b, $s2) "r2" {allowzero=false}
  return %y
}"#;
    let bytes = write(src);
    let m = fb::root_as_model(&bytes).unwrap();
    let sg = m.subgraphs().unwrap().get(0);
    let codes = m.operator_codes().unwrap();
    let kinds: Vec<_> = sg
        .operators()
        .unwrap()
        .iter()
        .map(|o| codes.get(o.opcode_index() as usize).builtin_code())
        .collect();
    assert_eq!(kinds, [B::RESHAPE]);
    let op = sg.operators().unwrap().get(0);
    assert_eq!(op.inputs().unwrap().get(0), sg.inputs().unwrap().get(0));
    assert_eq!(op.outputs().unwrap().get(0), sg.outputs().unwrap().get(0));
    // Only the tensors still used are left: x, y and the shape.
    assert_eq!(sg.tensors().unwrap().len(), 3);
}

/// Every graph of the pass filetests (what pare's passes write) is either written or
/// refused with an error: the writer never panics.
#[test]
fn the_writer_never_panics_on_the_filetest_graphs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/filetests");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("tests/filetests is readable") {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pir") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 50, "{} filetests found", files.len());
    let (mut written, mut refused) = (0, 0);
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let Ok(g) = pare_ir::text::parse(&src) else {
            continue;
        };
        match std::panic::catch_unwind(|| pare_tflite::write(&g)) {
            Ok(Ok(bytes)) => {
                fb::root_as_model(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                written += 1;
            }
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("the writer panicked on {}", f.display()),
        }
    }
    eprintln!(
        "{written} written, {refused} refused of {} filetest graphs",
        files.len()
    );
    assert!(written > 0);
}
