//! The textual IR round-trips every fixture exactly (`parse(print(g)) == g`), also
//! after `cleanup`, and printing is deterministic.

mod support;

#[test]
fn every_fixture_round_trips_through_text() {
    let mut models: Vec<_> = std::fs::read_dir(support::fixtures_dir())
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    models.sort();
    assert!(models.len() >= 6, "expected the six ONNX fixtures");
    for path in models {
        let g = pare_onnx::import_file(&path).expect("import");
        let mut cleaned = g.clone();
        pare_passes::run_pipeline(&mut cleaned, "cleanup").expect("cleanup");
        for (label, graph) in [("imported", g), ("cleanup", cleaned)] {
            let text = pare_ir::text::print(&graph);
            let back = pare_ir::text::parse(&text)
                .unwrap_or_else(|e| panic!("{} ({label}): {e}", path.display()));
            assert!(
                back == graph,
                "{} ({label}): parse(print(g)) != g",
                path.display()
            );
            assert_eq!(
                pare_ir::text::print(&back),
                text,
                "{} ({label}): printing is not stable",
                path.display()
            );
            pare_ir::verify::verify(&back)
                .unwrap_or_else(|e| panic!("{} ({label}): {e}", path.display()));
        }
    }
}
