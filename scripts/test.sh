#!/usr/bin/env bash
# The test command: installs the test oracles, then runs every test of the workspace.
# Oracle-backed tests fail (never skip) when an oracle is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tests.sh
export PARE_REQUIRE_ORACLES=1
cargo test --workspace --locked --no-fail-fast "$@"
