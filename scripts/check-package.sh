#!/usr/bin/env bash
# CI checks on what users deploy (the arm64 `sam build` output of scripts/package.sh):
#   1. no aws-lc in any function's release dependency tree (ring is the one crypto provider);
#      a `cargo tree` that fails for any other reason fails the check
#   2. each bootstrap is an aarch64 ELF needing at most GLIBC 2.34 (provided.al2023), with no
#      aws-lc linked in (no "AWS-LC" string in the binary), and each function zip is at most
#      3,000,000 bytes (issue #19's "arm64 zip per function <= 3 MB")
#   3. the smoke scenario, the arm64 binaries under qemu-aarch64 behind the benchmark's Lambda
#      Runtime API (tests/src/bin/bench.rs, BENCH_ONLY=smoke) against a private local stack
#      (HTTPS emulators, moto; stack.sh profile `package`, its own ports):
#      publish synced to Stytch; gated read 200 for the member, 404 for another org;
#      token-exchange 200; reconcile dry run report
# `sam validate --lint` with the pinned SAM CLI runs in scripts/check-template.sh.
# Reuses target/debug/bench and target/debug/stytch-emulator when the x86_64 build made them.
#   CHECK_PACKAGE_BUILD=0   check target/package as it is (no scripts/package.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOCK="${GATEHOUSE_CARGO_LOCK:-/tmp/gatehouse-cargo.lock}"  # one cargo build at a time on the machine
FUNCTIONS=(publish-sync delete-cleanup gated-content token-exchange reconcile)
GLIBC_MAX=2.34
ZIP_MAX=3000000   # bytes: issue #19's "arm64 zip per function <= 3 MB"
AWSLC_MARK="AWS-LC"  # in every aws-lc build (its version string, "AWS-LC <version>"); ring has none
log() { printf 'check-package: %s\n' "$*"; }
t0=$SECONDS

# package.sh sets up the toolchain in its own process; this one keeps the caller's cargo (x86_64).
if [[ "${CHECK_PACKAGE_BUILD:-1}" == 1 ]]; then
  "$ROOT/scripts/package.sh"
fi
for tool in aarch64-linux-gnu-objdump qemu-aarch64; do
  command -v "$tool" >/dev/null || { log "missing $tool (scripts/package.sh installs it)"; exit 1; }
done

# 1. crypto: the release tree of each function, as `cargo lambda build -p <function>` resolves it.
# in_tree FUNCTION CRATE: 0 when CRATE is in FUNCTION's normal aarch64 tree (the inverted tree is
# left in TREE), 1 when it is not: cargo printed nothing, or refused the spec because no package
# of that name is in the function's resolve at all. Any other cargo failure ends the check here,
# so a broken `cargo tree` can never pass for "no aws-lc".
in_tree() {
  local status=0
  TREE="$(flock "$LOCK" cargo tree -q -e normal --target aarch64-unknown-linux-gnu -p "$1" -i "$2" 2>&1)" || status=$?
  if [[ $status -eq 0 ]]; then
    grep -q "^$2 v" <<<"$TREE"
    return
  fi
  if grep -qF "specification \`$2\` did not match any packages" <<<"$TREE"; then
    return 1
  fi
  printf '%s\n' "$TREE" | tail -n 5
  log "FAIL: \`cargo tree -e normal --target aarch64-unknown-linux-gnu -p $1 -i $2\` failed (exit $status), so the crypto check cannot run"
  exit 1
}
for f in "${FUNCTIONS[@]}"; do
  if in_tree "$f" aws-lc-sys; then
    printf '%s\n' "$TREE" | head -n 20 || true
    log "FAIL: aws-lc-sys is in $f's release tree"; exit 1
  fi
  in_tree "$f" ring || { log "FAIL: $f does not use ring (no ring in its release tree)"; exit 1; }
done
log "no aws-lc in the release tree of ${FUNCTIONS[*]} (ring only)"

# 2. architecture, glibc, no aws-lc linked in, zip size.
for f in "${FUNCTIONS[@]}"; do
  bin="target/package/$f/bootstrap"
  [[ -f "$bin" ]] || { log "FAIL: $bin missing (scripts/package.sh)"; exit 1; }
  arch="$(aarch64-linux-gnu-objdump -f "$bin" | sed -n 's/^architecture: \([^,]*\).*/\1/p')"
  fmt="$(aarch64-linux-gnu-objdump -f "$bin" | sed -n 's/.*file format //p')"
  glibc="$(aarch64-linux-gnu-objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  [[ "$fmt" == elf64-littleaarch64 && "$arch" == aarch64 ]] || { log "FAIL: $f is $fmt/$arch, not an aarch64 ELF"; exit 1; }
  [[ -n "$glibc" && "$(printf '%s\n%s\n' "$glibc" "$GLIBC_MAX" | sort -V | tail -n 1)" == "$GLIBC_MAX" ]] ||
    { log "FAIL: $f needs GLIBC_$glibc (provided.al2023 has $GLIBC_MAX)"; exit 1; }
  # What was linked, not only what cargo tree resolves: aws-lc's own strings in the binary.
  status=0; grep -aqF "$AWSLC_MARK" "$bin" || status=$?
  case $status in
    0) { grep -a -o "$AWSLC_MARK[[:print:]]\{0,40\}" "$bin" | head -n 3 | sed 's/^/    /'; } || true
       log "FAIL: $f links aws-lc: \`grep -a '$AWSLC_MARK' $bin\` matched (first matches above)"; exit 1 ;;
    1) ;;
    *) log "FAIL: could not search $bin for '$AWSLC_MARK' (grep exit $status)"; exit 1 ;;
  esac
  printf '  %-16s %s, highest symbol GLIBC_%s (<= %s), no %s string\n' "$f" "$fmt" "$glibc" "$GLIBC_MAX" "$AWSLC_MARK"
done
over=0
for f in "${FUNCTIONS[@]}"; do
  z="target/package/$f.zip"
  [[ -f "$z" ]] || { log "FAIL: $z missing (scripts/package.sh)"; exit 1; }
  size="$(stat -c %s "$z")"
  if (( size <= ZIP_MAX )); then verdict=ok; else verdict=OVER; over=$((over + 1)); fi
  printf '  %-16s zip %9d bytes (<= %d) %s\n' "$f" "$size" "$ZIP_MAX" "$verdict"
done
(( over == 0 )) || { log "FAIL: $over function zip(s) over $ZIP_MAX bytes (issue #19's 3 MB target)"; exit 1; }

# 3. smoke under qemu.
STYTCH_BIN="${STYTCH_EMULATOR_BIN:-$ROOT/target/debug/stytch-emulator}"
if [[ ! -x target/debug/bench || ! -x "$STYTCH_BIN" ]]; then
  log "building the benchmark driver and the Stytch emulator (x86_64 debug)"
  flock "$LOCK" cargo build --quiet -p gatehouse-tests --bin bench -p stytch-emulator
fi
export MOTO_PORT=34566 SANITY_PORT=34100 STYTCH_PORT=34200 LAMBDA_PORT=39000 LAMBDA_CONSUMER_PORT=39001 \
  DESCOPE_PORT=34300 LAMBDA_DESCOPE_PORT=39002 CERBOS_HTTP_PORT=33592 CERBOS_GRPC_PORT=33593
trap 'scripts/stack.sh down package >/dev/null 2>&1 || true' EXIT
STACK_TLS=1 STACK_FUNCTIONS=0 STACK_DESCOPE=0 STYTCH_EMULATOR_BIN="$STYTCH_BIN" \
  scripts/stack.sh up package >/dev/null
t=$SECONDS
BENCH_STACK=package BENCH_ONLY=smoke BENCH_BIN_DIR="$ROOT/target/package" \
  BENCH_WRAPPER="qemu-aarch64 -L /usr/aarch64-linux-gnu" target/debug/bench
log "arm64 smoke under qemu passed in $((SECONDS - t))s; all checks in $((SECONDS - t0))s"
