//! Palette weights in the textual IR: printed as `palette(k=K, bits=B, groups=G)`
//! with their codebooks and indices (or inline elements / a hash), parsed back to
//! the same stored bytes, and rejected with a clear message when what they declare
//! does not match their data.

use pare_ir::text::{parse, parse_with_weights, print, print_elided};
use pare_ir::{DType, Graph, Op, PaletteSpec, Tensor, TensorType, Weight, WeightEncoding};

/// `y = x · wᵀ` over one weight `w`.
fn gemm_graph(w: Weight) -> Graph {
    let mut g = Graph::new("palette");
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

/// A [rows, cols] f32 weight taking `levels` distinct values.
fn clustered(rows: usize, cols: usize, levels: usize) -> Weight {
    let vals: Vec<f32> = (0..rows * cols)
        .map(|k| ((k * 7) % levels) as f32 * 0.5 - 1.0)
        .collect();
    Weight::from_tensor(&Tensor::from_vec(vec![rows, cols], vals).unwrap())
}

#[test]
fn small_palette_weights_print_inline_and_round_trip() {
    let spec = PaletteSpec { k: 4, groups: 1 };
    let w = clustered(2, 3, 3).to_palette(spec).unwrap();
    assert_eq!(w.encoding(), WeightEncoding::Palette(spec));
    let text = round_trip(&gemm_graph(w));
    assert!(text.contains("palette(k=4, bits=2, groups=1) ["), "{text}");
}

#[test]
fn large_palette_weights_print_codebooks_then_indices() {
    let spec = PaletteSpec { k: 16, groups: 8 };
    let w = clustered(8, 40, 12).to_palette(spec).unwrap();
    // 8 codebooks of 16 f32, then 8 rows of 40 four-bit indices.
    assert_eq!(w.stored_len(), 8 * 16 * 4 + 8 * 20);
    let text = round_trip(&gemm_graph(w));
    assert!(
        text.contains("palette(k=16, bits=4, groups=8) hex \""),
        "{text}"
    );
}

#[test]
fn bad_palette_declarations_are_clear_errors() {
    let spec = PaletteSpec { k: 16, groups: 1 };
    let text = print(&gemm_graph(clustered(8, 40, 12).to_palette(spec).unwrap()));
    let cases = [
        ("bits=4", "bits=3", "takes 4-bit indices, not bits=3"),
        ("k=16, bits=4", "k=300, bits=4", "2 to 256 entries"),
        ("groups=1", "groups=3", "do not split its 8 rows"),
    ];
    for (from, to, want) in cases {
        let bad = text.replacen(from, to, 1);
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains(want), "{from} -> {to}: {err}");
        assert!(err.contains("fc.weight") || err.contains("$w"), "{err}");
    }
    // Inline elements with more distinct values than the codebook holds.
    let small = print(&gemm_graph(
        clustered(2, 3, 3)
            .to_palette(PaletteSpec { k: 4, groups: 1 })
            .unwrap(),
    ));
    let bad = small.replacen("k=4, bits=2", "k=2, bits=1", 1);
    let err = parse(&bad).unwrap_err().to_string();
    assert!(
        err.contains("3 distinct values, more than its 2 entries"),
        "{err}"
    );
    // A truncated index string.
    let truncated = {
        let line_end = text[text.find("= palette(").unwrap()..].find('\n').unwrap()
            + text.find("= palette(").unwrap();
        let at = text[..line_end].rfind('"').unwrap();
        format!("{}{}", &text[..at - 2], &text[at..])
    };
    let err = parse(&truncated).unwrap_err().to_string();
    assert!(err.contains("palette weight"), "{err}");
}
