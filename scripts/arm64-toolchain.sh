# shellcheck shell=bash
# The arm64 build and run toolchain, from the package registries only (sourced by
# scripts/package.sh and scripts/check-package.sh; facts in docs/deploy.md "Toolchain"):
#   - cargo-lambda, zig, SAM CLI: ./.venv (scripts/bootstrap.sh, requirements-tools.txt)
#   - an aarch64 Rust std, from one of:
#       1. the active rustc, when it already has one (rustup with the target added, or any other
#          install);
#       2. Debian bookworm-security rustc-web/cargo-web 1.96 + libstd-rust-web-dev:arm64 (apt),
#          used through /usr/bin ahead of ~/.cargo/bin (rustup's 1.95 cannot use Debian's std);
#       3. `rustup target add aarch64-unknown-linux-gnu`: rustup's own download host, which is
#          not a package registry and may refuse a fresh machine (issue #19: CI must not depend
#          on it), so only when asked for.
#     ARM64_TOOLCHAIN picks which:
#       unset   1, else 2 (the default; CI). Never 3: when neither works it says what is missing.
#       debian  2 only (the same compiler on every machine, e.g. for CI caches).
#       rustup  1, else 3, for a machine with rustup (nothing from apt for Rust).
#   - gcc-aarch64-linux-gnu (ring's C and assembly), binutils (objdump), libc6-dev-arm64-cross
#     (qemu's sysroot), qemu-user (qemu-aarch64): apt, whatever ARM64_TOOLCHAIN says.
# arm64_toolchain exports PATH, RUSTC, CARGO, ARM64_RUST (how the std was found) and CARGO_TARGET_DIR
# (target/arm64, so Debian's rustc never shares artifacts with rustup's). When something cannot be
# installed it prints ONE line naming what is missing and returns 1.

ARM64_TRIPLE=aarch64-unknown-linux-gnu
ARM64_APT_LOG="${TMPDIR:-/tmp}/gatehouse-arm64-apt.log"  # apt-get's and rustup's output

_arm64_has_std() {  # rustc binary: true if its sysroot has an aarch64-linux libstd
  local sysroot
  sysroot="$("$1" --print sysroot 2>/dev/null)" || return 1
  compgen -G "$sysroot/lib/rustlib/$ARM64_TRIPLE/lib/libstd-*.rlib" >/dev/null
}

_arm64_rustc_ok() {  # rustc binary: edition 2024 and rust-version 1.91 (Cargo.toml)
  local v
  v="$("$1" --version 2>/dev/null | awk '{print $2}')" || return 1
  [[ -n "$v" ]] && [[ "$(printf '%s\n1.91.0\n' "${v%%-*}" | sort -V | head -n1)" == 1.91.0 ]]
}

_arm64_apt() {  # packages...: install what is missing; output to ARM64_APT_LOG
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || return 1
  {
    if [[ " ${missing[*]} " == *":arm64"* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
      dpkg --add-architecture arm64
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >>"$ARM64_APT_LOG" 2>&1
}

arm64_toolchain() {
  local root="$1" missing=() mode="${ARM64_TOOLCHAIN:-}"
  case "$mode" in
    "" | debian | rustup) ;;
    *) echo "arm64 toolchain: ARM64_TOOLCHAIN=$mode is not one of: (unset), debian, rustup"; return 1 ;;
  esac
  "$root/scripts/bootstrap.sh" >/dev/null || { echo "arm64 toolchain: missing .venv tools (scripts/bootstrap.sh failed)"; return 1; }
  export PATH="$root/.venv/bin:$PATH"

  # Cross C compiler, binutils, qemu and its sysroot.
  _arm64_apt gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user ||
    missing+=("gcc-aarch64-linux-gnu/libc6-dev-arm64-cross/qemu-user (apt-get install failed, see $ARM64_APT_LOG)")

  # The Rust std, as ARM64_TOOLCHAIN says (above).
  local active
  active="$(command -v rustc || true)"
  if [[ "$mode" != debian && -n "$active" ]] && _arm64_rustc_ok "$active" && _arm64_has_std "$active"; then
    ARM64_RUST="active rustc ($("$active" --version))"
  elif [[ "$mode" == rustup ]]; then
    if ! command -v rustup >/dev/null || [[ -z "$active" ]] || ! _arm64_rustc_ok "$active"; then
      missing+=("rustup with a rustc >= 1.91 on PATH (ARM64_TOOLCHAIN=rustup)")
    elif rustup target add "$ARM64_TRIPLE" >>"$ARM64_APT_LOG" 2>&1 && _arm64_has_std "$active"; then
      ARM64_RUST="rustup target add ($("$active" --version))"
    else
      missing+=("the $ARM64_TRIPLE std from rustup (ARM64_TOOLCHAIN=rustup: rustup target add $ARM64_TRIPLE failed, see $ARM64_APT_LOG)")
    fi
  elif { [[ -x /usr/bin/rustc ]] && _arm64_rustc_ok /usr/bin/rustc && _arm64_has_std /usr/bin/rustc; } ||
       { _arm64_apt rustc-web cargo-web libstd-rust-web-dev:arm64 && _arm64_rustc_ok /usr/bin/rustc && _arm64_has_std /usr/bin/rustc; }; then
    export PATH="$root/.venv/bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
    # cargo-lambda runs `$RUSTUP +stable target add` when rustup's toolchain lacks the target
    # (its build step's toolchain check): a download from rustup's host for a std Debian's
    # rustc cannot use anyway. `true` makes that step a no-op.
    export RUSTUP=true
    ARM64_RUST="Debian rustc-web ($(/usr/bin/rustc --version))"
  else
    missing+=("an aarch64 Rust std (Debian rustc-web + cargo-web + libstd-rust-web-dev:arm64 1.96 from bookworm-security, apt-get as root, see $ARM64_APT_LOG; or, with rustup, set ARM64_TOOLCHAIN=rustup)")
  fi
  for tool in cargo-lambda zig sam; do
    command -v "$tool" >/dev/null || missing+=("$tool (.venv, scripts/bootstrap.sh)")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    local line="" item
    for item in "${missing[@]}"; do line+="${line:+ | }$item"; done
    echo "arm64 toolchain: missing $line"
    return 1
  fi
  export ARM64_RUST CARGO_TARGET_DIR="$root/target/arm64"
}
