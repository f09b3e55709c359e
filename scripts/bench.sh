#!/usr/bin/env bash
# `make bench`: release builds of the functions, the local stack without cargo-lambda (moto and
# the emulators, release Stytch emulator), then the benchmark (tests/src/bin/bench.rs), which runs
# each function binary as fresh Lambda containers under a Runtime API and prints the table.
# Figures go to target/bench/results.json; BENCHMARKS.md holds the latest with the analysis.
#
#   BENCH_COLD_RUNS (30)  BENCH_PUBLISHES (100)  BENCH_RECONCILE_RULES (2000)
#   BENCH_ONLY=authz      only the built-in vs Cerbos comparison (after the release build)
#   BENCH_BASELINE=<rev>  before/after in one run: also builds <rev>'s five functions (release,
#                         with <rev>'s own Cargo.toml and profile) in a git worktree
#                         (.stack/baseline-src, removed at exit; CARGO_TARGET_DIR=target/baseline)
#                         and runs their cold starts (BENCH_ONLY=cold, label baseline-<short rev>,
#                         target/bench/cold-baseline-<short rev>.json) on the same stack right
#                         before this build's. The baseline gets this checkout's function settings.
#   BENCH_PROFILES=1      also compare build profiles against the default build (opt-level "s",
#                         fat LTO): opt-level 3 with fat LTO, 3 and "s" without LTO; size and cold
#                         start of each (three more release builds)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
FUNCTIONS=(publish-sync delete-cleanup gated-content token-exchange reconcile)
BASELINE="${BENCH_BASELINE:-}"
BASE_SRC="$ROOT/.stack/baseline-src"
STACK_UP=0 BASE_WORKTREE=0
cleanup() {
  if [[ $STACK_UP == 1 ]]; then scripts/stack.sh down bench >/dev/null || true; fi
  if [[ $BASE_WORKTREE == 1 ]]; then git worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

scripts/bootstrap.sh

section "release build (the profile sam build uses: opt-level \"s\", fat LTO, 1 codegen unit)"
pkgs=(); for f in "${FUNCTIONS[@]}"; do pkgs+=(-p "$f"); done
time cargo build --release "${pkgs[@]}" -p stytch-emulator
cargo build -p gatehouse-tests --bin bench

if [[ -n "$BASELINE" ]]; then
  base_rev="$(git rev-parse --verify --quiet "$BASELINE^{commit}")" ||
    { echo "bench: BENCH_BASELINE=$BASELINE is not a commit of this repository"; exit 1; }
  base_short="$(git rev-parse --short "$base_rev")"
  section "baseline build: $base_short (release, in a git worktree at ${BASE_SRC#"$ROOT"/})"
  mkdir -p "$ROOT/.stack"
  # A worktree left by an interrupted run is replaced.
  git worktree remove --force "$BASE_SRC" >/dev/null 2>&1 || rm -rf "$BASE_SRC"
  git worktree prune
  git worktree add --quiet --detach "$BASE_SRC" "$base_rev"
  BASE_WORKTREE=1
  ( cd "$BASE_SRC" && CARGO_TARGET_DIR="$ROOT/target/baseline" bash -c "time cargo build --release ${pkgs[*]}" ) ||
    { echo "bench: building the functions of $base_short failed (BENCH_BASELINE=$BASELINE)"; exit 1; }
  BASE_BIN="$ROOT/target/baseline/release"
  for f in "${FUNCTIONS[@]}"; do
    printf '%-22s %-16s %s bytes (this build: %s)\n' "baseline-$base_short" "$f" "$(stat -c %s "$BASE_BIN/$f")" "$(stat -c %s "target/release/$f")"
  done
fi

# What `cargo lambda build --output-format zip` uploads: the binary as `bootstrap`, deflated.
zip_all() {  # dir
  mkdir -p target/bench
  for f in "${FUNCTIONS[@]}"; do
    .venv/bin/python - "$1/$f" "target/bench/$f.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap"); info.external_attr = 0o755 << 16; info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open(sys.argv[1], "rb").read())
PY
  done
}
zip_all target/release

section "local stack (moto, Sanity and Stytch emulators; the benchmark serves the functions)"
STACK_UP=1
# HTTPS emulators (local CA): the first request's TLS handshake is part of what is measured.
STACK_TLS=1 STACK_FUNCTIONS=0 STACK_DESCOPE=0 STYTCH_EMULATOR_BIN="$ROOT/target/release/stytch-emulator" scripts/stack.sh up bench

if [[ -n "$BASELINE" ]]; then
  section "cold starts of the baseline $base_short (same stack, right before this build's)"
  BENCH_ONLY=cold BENCH_LABEL="baseline-$base_short" BENCH_BIN_DIR="$BASE_BIN" target/debug/bench
fi

section "benchmark (emulators over HTTPS; connections and JWKS warmed during init)"
target/debug/bench

section "the same cold starts with INIT_WARMUP=0 (TLS handshake and JWKS load left to the first request)"
BENCH_ONLY=cold BENCH_LABEL=no-warmup BENCH_FN_ENV=INIT_WARMUP=0 target/debug/bench

if [[ "${BENCH_PROFILES:-0}" == 1 ]]; then
  section "build profiles (size and cold start; the default build above is opt-level \"s\", fat LTO)"
  for variant in "3:fat" "3:off" "s:off"; do
    opt="${variant%%:*}"; lto="${variant##*:}"; dir="target/profile-o$opt-lto$lto"
    CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt" CARGO_PROFILE_RELEASE_LTO="$lto" CARGO_TARGET_DIR="$dir" \
      bash -c "time cargo build --release --quiet ${pkgs[*]}"
    for f in "${FUNCTIONS[@]}"; do printf '%-22s %-16s %s bytes\n' "o$opt lto=$lto" "$f" "$(stat -c %s "$dir/release/$f")"; done
    BENCH_ONLY=cold BENCH_LABEL="o$opt-lto$lto" BENCH_BIN_DIR="$ROOT/$dir/release" target/debug/bench
  done
fi
