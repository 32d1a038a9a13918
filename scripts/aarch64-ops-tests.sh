#!/usr/bin/env bash
# The ops crate's tests on aarch64 (the NEON path, and the portable one in
# the child run each test file starts, see ops/tests/common), cross-built
# and run under qemu-user. Only the ops crate, whose tests use small
# shapes; bounded in time because emulation is 10-50x slower than native.
# Needs: rustup target aarch64-unknown-linux-gnu; Debian gcc- and g++-aarch64-linux-gnu
# (candle builds C++ through tokenizers), libc6-dev-arm64-cross and qemu-user
# (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# The ops tests rerun their own binary once per other path: through qemu too.
export NASARENA_TEST_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
# Own target folder, so the native build above is not invalidated.
timeout "${NASARENA_AARCH64_TIMEOUT:-2400}" \
  cargo test -p nasarena-ops --release --target aarch64-unknown-linux-gnu \
  --target-dir target/aarch64 "$@"
