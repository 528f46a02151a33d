//! The caps are real: a case over the memory cap ends as `over-cap`, one past the time
//! cap as `hang` (its worker killed), and the same file under ordinary caps runs.

use pare_fuzz::{replay_files, seeds, Caps, Verdict};
use std::path::PathBuf;
use std::time::Duration;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pare-fuzz"))
}

fn fixture(name: &str) -> PathBuf {
    seeds::fixtures_dir()
        .expect("shared/fixtures (or PARE_FIXTURES) is needed")
        .join(name)
}

#[test]
fn memory_cap_ends_the_case_as_over_cap() {
    // The 14 MB MobileNetV2 cannot even be received under an 8 MiB cap.
    let files = [fixture("mobilenet_v2.onnx")];
    let caps = Caps {
        time: Duration::from_secs(60),
        mem_mb: 8,
    };
    let r = replay_files(&files, 1, &exe(), caps).expect("replay");
    assert_eq!(r[0].1, Verdict::OverCap, "{:?}", r[0].1);
}

#[test]
fn time_cap_ends_the_case_as_hang() {
    // Importing MobileNetV2 takes far longer than a millisecond.
    let files = [fixture("mobilenet_v2.onnx"), fixture("micro_cnn.onnx")];
    let caps = Caps {
        time: Duration::from_millis(1),
        mem_mb: 1024,
    };
    let r = replay_files(&files, 1, &exe(), caps).expect("replay");
    assert_eq!(r[0].1, Verdict::Hang, "{:?}", r[0].1);
}

#[test]
fn ordinary_caps_let_a_fixture_run() {
    let files = [fixture("micro_cnn.onnx"), fixture("micro_cnn.pt2")];
    let caps = Caps {
        time: Duration::from_secs(60),
        mem_mb: 1024,
    };
    for (path, v) in replay_files(&files, 2, &exe(), caps).expect("replay") {
        assert!(
            matches!(v, Verdict::Done(pare_fuzz::protocol::Outcome::Ran, _)),
            "{}: {v:?}",
            path.display()
        );
    }
}
