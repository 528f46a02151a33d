#!/usr/bin/env bash
# The test command: installs the test oracles, checks formatting and lints, then runs
# every test of the workspace.
# Oracle-backed tests fail (never skip) when an oracle is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tests.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -q -- -D warnings
cargo test --workspace --locked --no-fail-fast "$@"
