//! CI's short campaign: a fixed-seed run of every format through worker processes with
//! the time and memory caps. Any panic, hang, over-cap allocation, crash or graph a
//! reader accepted but the verifier rejects fails the test, naming the regression
//! file it wrote.

use pare_fuzz::{seeds, CampaignConfig, Caps, Format};
use std::path::PathBuf;
use std::time::Duration;

/// Cases per format: about a minute in all on two cores in a test build.
const CASES: u64 = 2000;
const SEED: u64 = 0x11_2026;

fn campaign(format: Format) {
    let fixtures = seeds::fixtures_dir().expect("shared/fixtures (or PARE_FIXTURES) is needed");
    let pool = seeds::load(format, &fixtures, &seeds::filetests_dir()).expect("seeds");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("short-campaign");
    let cfg = CampaignConfig {
        format,
        cases: CASES,
        seed: SEED,
        jobs: 2,
        out: Some(out),
        caps: Caps {
            // Generous: test builds are slower and CI machines are shared.
            time: Duration::from_secs(20),
            mem_mb: 1024,
        },
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_pare-fuzz")),
        progress: None,
    };
    let (figures, findings) = pare_fuzz::run_campaign(&cfg, &pool).expect("campaign runs");
    println!("{format}: {figures}");
    assert_eq!(figures.cases, CASES);
    assert!(
        findings.is_empty(),
        "{format}: {} failing cases:\n{findings:#?}",
        figures.failures()
    );
    // The cases must reach past the readers, and mutations must break some files:
    // a campaign where everything fails to parse, or nothing does, tests little.
    assert!(
        figures.ok() > 0,
        "{format}: no case was read successfully: {figures}"
    );
    assert!(
        figures.clean_errors > 0,
        "{format}: no case was rejected: {figures}"
    );
}

#[test]
fn onnx_short_campaign() {
    campaign(Format::Onnx);
}

#[test]
fn pt2_short_campaign() {
    campaign(Format::Pt2);
}

#[test]
fn pir_short_campaign() {
    campaign(Format::Pir);
}

#[test]
fn npy_short_campaign() {
    campaign(Format::Npy);
}
