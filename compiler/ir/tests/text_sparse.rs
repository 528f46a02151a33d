//! Sparse weights in the textual IR: printed as `sparse(nnz=K, density=D)` with
//! their bitmap and values (or inline elements / a hash), parsed back to the same
//! stored bytes, and rejected with a clear message when what they declare does not
//! match their data.

use pare_ir::text::{parse, parse_with_weights, print, print_elided};
use pare_ir::{DType, Graph, Op, QParams, Tensor, TensorType, Weight, WeightBytes, WeightEncoding};

/// `y = x · wᵀ` over one sparse weight `w` of type `ty` holding `vals` (one byte
/// per element, widened for 4-bit types by `Weight::with_type`).
fn matmul_graph(w: Weight) -> Graph {
    let mut g = Graph::new("sparse");
    let shape = w.ty.fixed_shape().unwrap();
    let x = g
        .add_input("x", TensorType::fixed(DType::F32, &[1, shape[1]]))
        .unwrap();
    let wv = g.add_weight("fc.weight", w).unwrap();
    let (_, outs) = g
        .add_node(
            "fc",
            Op::Gemm {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            },
            vec![Some(x), Some(wv)],
            vec![("y".into(), TensorType::fixed(DType::F32, &[1, shape[0]]))],
        )
        .unwrap();
    g.outputs.push(outs[0]);
    g
}

/// Checks parse ∘ print = id in full and elided form; returns the full text.
fn round_trip(g: &Graph) -> String {
    let text = print(g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, g, "graph changed in round trip:\n{text}");
    assert_eq!(print(&back), text);
    let elided = print_elided(g);
    let weights: Vec<Weight> = g.weights().map(|(_, w)| w.clone()).collect();
    let resolve = |h: &str| weights.iter().find(|w| w.short_hash() == h).cloned();
    let back = parse_with_weights(&elided, &resolve).unwrap_or_else(|e| panic!("{e}\n{elided}"));
    assert_eq!(&back, g, "graph changed in elided round trip:\n{elided}");
    text
}

fn half_zero_f32(rows: usize, cols: usize) -> Weight {
    let vals: Vec<f32> = (0..rows * cols)
        .map(|k| {
            if k % 2 == 0 {
                0.0
            } else {
                k as f32 * 0.25 - 3.0
            }
        })
        .collect();
    Weight::from_tensor(&Tensor::from_vec(vec![rows, cols], vals).unwrap())
}

fn int4_type(shape: &[u64]) -> TensorType {
    let mut ty = TensorType::fixed(DType::I8, shape);
    ty.quant = Some(QParams {
        bits: 4,
        signed: true,
        scale: vec![0.5],
        zero_point: vec![0],
        axis: None,
    });
    ty
}

#[test]
fn small_sparse_weights_print_inline_and_round_trip() {
    let w = half_zero_f32(2, 3).to_sparse().unwrap();
    assert_eq!(w.encoding(), WeightEncoding::Sparse { nnz: 3 });
    let text = round_trip(&matmul_graph(w));
    assert!(
        text.contains(
            "f32[2,3] = sparse(nnz=3, density=0.50) [0.0, -2.75, 0.0, -2.25, 0.0, -1.75]"
        ),
        "{text}"
    );
}

#[test]
fn large_sparse_weights_print_bitmap_and_values() {
    let dense = half_zero_f32(4, 20);
    let w = dense.to_sparse().unwrap();
    // 4 rows of ceil(20/8) = 3 bitmap bytes, then 40 four-byte values.
    assert_eq!(w.stored_len(), 12 + 160);
    assert_eq!(
        w.bytes(),
        dense.bytes(),
        "decoding gives the dense bytes back"
    );
    assert_ne!(
        w.content_hash(),
        dense.content_hash(),
        "the hash covers the encoding"
    );
    let text = round_trip(&matmul_graph(w));
    assert!(
        text.contains("sparse(nnz=40, density=0.50) hex \"aaaa0aaaaa0aaaaa0aaaaa0a\" hex \""),
        "{text}"
    );
}

#[test]
fn sparse_int4_and_int8_weights_round_trip() {
    let vals: Vec<i8> = (0..64)
        .map(|k| if k % 3 == 0 { (k % 15) as i8 - 7 } else { 0 })
        .collect();
    let t = Tensor::from_vec(vec![4, 16], vals.clone()).unwrap();
    let w4 = Weight::with_type(int4_type(&[4, 16]), &t)
        .unwrap()
        .to_sparse()
        .unwrap();
    assert_eq!(w4.tensor().unwrap().as_slice::<i8>().unwrap(), &vals[..]);
    round_trip(&matmul_graph(w4));
    let w8 = Weight::with_type(TensorType::fixed(DType::I8, &[4, 16]), &t)
        .unwrap()
        .to_sparse()
        .unwrap();
    assert_eq!(w8.tensor().unwrap().as_slice::<i8>().unwrap(), &vals[..]);
    round_trip(&matmul_graph(w8));
}

fn err(src: &str) -> String {
    match parse(src) {
        Ok(g) => panic!("parsed unexpectedly: {g:?}\n{src}"),
        Err(e) => e.to_string(),
    }
}

fn one_weight(decl: &str) -> String {
    format!(
        "graph @g(%0: f32[1,3]) -> (f32[1,2]) {{\n  $w0: i8[2,3] = {decl}\n  %1: f32[1,2] = gemm(%0, $w0) {{alpha=1.0, beta=1.0, trans_a=false, trans_b=true}}\n  return %1\n}}\n"
    )
}

#[test]
fn inconsistent_sparse_weights_are_parse_errors() {
    // Bitmap rows 0b101 and 0b100 mark three values; the text declares the rest.
    let ok = one_weight("sparse(nnz=3, density=0.50) hex \"0504\" hex \"010203\"");
    let g = parse(&ok).unwrap();
    let (_, w) = g.weights().next().unwrap();
    assert_eq!(
        w.tensor().unwrap().as_slice::<i8>().unwrap(),
        &[1, 0, 2, 0, 0, 3]
    );

    let cases: &[(&str, &str)] = &[
        (
            "sparse(nnz=3, density=0.50) hex \"0504\" hex \"0102\"",
            "its bitmap marks 3 non-zero elements, which take 3 bytes, but 2 bytes of values follow",
        ),
        (
            "sparse(nnz=2, density=0.50) hex \"0504\" hex \"010203\"",
            "declares nnz=2 but its data holds 3 non-zero elements",
        ),
        (
            "sparse(nnz=3, density=0.90) hex \"0504\" hex \"010203\"",
            "declares density=0.9 but holds 3 of 6 elements (0.50)",
        ),
        (
            "sparse(nnz=3, density=0.50) hex \"050400\" hex \"0203\"",
            "the bitmap of a sparse i8[2,3] has 2 bytes",
        ),
        (
            "sparse(nnz=3, density=0.50) hex \"0d04\" hex \"01020304\"",
            "row 0's bitmap sets bits past its 3 elements",
        ),
        (
            "sparse(nnz=3, density=0.50) hex \"0504\" hex \"010003\"",
            "element 2 is marked non-zero but its stored value is zero",
        ),
        (
            "sparse(nnz=3, density=0.50) hex \"0504\" [1, 2, 3]",
            "expected `hex \"...\"` holding the sparse weight's values after its bitmap",
        ),
        ("sparse(nnz=3) hex \"0504\" hex \"010203\"", "expected `,` after the non-zero count"),
    ];
    for (decl, want) in cases {
        let e = err(&one_weight(decl));
        assert!(e.contains(want), "{decl}: got `{e}`, want `{want}`");
        assert!(e.starts_with("2:"), "{decl}: the error names its line: {e}");
    }
}

#[test]
fn sparse_weight_store_checks_sizes() {
    let ty = TensorType::fixed(DType::I8, &[2, 3]);
    let bad = Weight::sparse(ty, WeightBytes::Owned(vec![0x05, 0x04, 1].into()));
    let e = bad.unwrap_err().to_string();
    assert!(e.contains("sparse weight of type i8[2,3]"), "{e}");
}

#[test]
fn weight_bytes_count_what_is_stored() {
    let g = matmul_graph(half_zero_f32(4, 20).to_sparse().unwrap());
    assert_eq!(pare_ir::analysis::weight_bytes(&g), 172);
}
