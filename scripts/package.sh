#!/usr/bin/env bash
# `make package`: what `sam deploy` uploads, built the way Lambda runs it (arm64, provided.al2023).
#   1. the arm64 toolchain (scripts/arm64-toolchain.sh: registries only, rustup not needed;
#      ARM64_TOOLCHAIN=debian|rustup picks where the aarch64 Rust std comes from, docs/deploy.md)
#   2. ONE `cargo lambda build --release --arm64` of all five functions (dependencies compiled
#      once, into target/arm64)
#   3. `sam build` on template.yaml: every function and CerbosPoliciesLayer; its per-function
#      `cargo lambda build` finds everything up to date in the same target dir, so it only copies
#   4. target/package/<function>.zip (bootstrap at the root, as Lambda takes it) and
#      target/package/<function>/bootstrap, then the sizes
# Then: sam deploy (docs/deploy.md). Usage: [ARM64_TOOLCHAIN=debian|rustup] scripts/package.sh
# scripts/check-package.sh checks the result (no aws-lc, ELF/glibc, zips <= 3,000,000 bytes, smoke).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/arm64-toolchain.sh
source "$ROOT/scripts/arm64-toolchain.sh"
arm64_toolchain "$ROOT" || exit 1
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
LOCK="${GATEHOUSE_CARGO_LOCK:-/tmp/gatehouse-cargo.lock}"  # one cargo build at a time on the machine
OUT="$ROOT/target/package"
log() { printf 'package: %s\n' "$*"; }

# Function binary -> logical id, from the template (Metadata.BuildProperties.Binary).
mapfile -t PAIRS < <(awk '/^  [A-Za-z0-9]+:$/ {id=$1; sub(":", "", id)} /^        Binary: / {print $2 " " id}' template.yaml)
[[ ${#PAIRS[@]} -gt 0 ]] || { log "no rust-cargolambda functions found in template.yaml"; exit 1; }
pkgs=(); for p in "${PAIRS[@]}"; do pkgs+=(-p "${p%% *}"); done

log "toolchain: $ARM64_RUST; $(cargo lambda --version 2>/dev/null); $(sam --version)"
t=$SECONDS
log "cargo lambda build --release --arm64 ${pkgs[*]} (target dir ${CARGO_TARGET_DIR#"$ROOT"/})"
flock "$LOCK" cargo lambda build --release --arm64 --quiet "${pkgs[@]}"
log "built in $((SECONDS - t))s"

t=$SECONDS
log "sam build (template.yaml -> .aws-sam/build)"
flock "$LOCK" sam build --template-file template.yaml >"$ROOT/target/arm64/sam-build.log" 2>&1 ||
  { tail -n 30 "$ROOT/target/arm64/sam-build.log"; log "sam build failed (full log: target/arm64/sam-build.log)"; exit 1; }
log "sam build done in $((SECONDS - t))s"

rm -rf "$OUT"; mkdir -p "$OUT"
"$ROOT/.venv/bin/python" - "$ROOT" "$OUT" "${PAIRS[@]}" <<'PY'
import hashlib, os, sys, zipfile
root, out, pairs = sys.argv[1], sys.argv[2], [p.split() for p in sys.argv[3:]]
build = os.path.join(root, ".aws-sam", "build")
def zipdir(src, dest):
    # What `sam deploy` uploads: the build directory's files, the executable bit kept.
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for d, _, files in os.walk(src):
            for f in sorted(files):
                p = os.path.join(d, f)
                info = zipfile.ZipInfo(os.path.relpath(p, src))
                info.external_attr = (os.stat(p).st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, open(p, "rb").read(), compresslevel=9)
MB = 1e6
print(f"{'function':<16} {'logical id':<24} {'bootstrap':>11} {'zip':>9}  reused")
for fn, lid in pairs:
    src = os.path.join(build, lid)
    boot = os.path.join(src, "bootstrap")
    names = sorted(os.listdir(src))
    if names != ["bootstrap"]:
        sys.exit(f"package: {lid}: expected only bootstrap in {src}, found {names}")
    os.makedirs(os.path.join(out, fn))
    data = open(boot, "rb").read()
    with open(os.path.join(out, fn, "bootstrap"), "wb") as f:
        f.write(data)
    os.chmod(os.path.join(out, fn, "bootstrap"), 0o755)
    zpath = os.path.join(out, fn + ".zip")
    zipdir(src, zpath)
    with zipfile.ZipFile(zpath) as z:
        assert z.namelist() == ["bootstrap"] and (z.getinfo("bootstrap").external_attr >> 16) & 0o111, zpath
    # sam build copied cargo lambda's binary, not a second build of its own
    cl = os.path.join(os.environ["CARGO_TARGET_DIR"], "lambda", fn, "bootstrap")
    same = os.path.exists(cl) and hashlib.sha256(open(cl, "rb").read()).digest() == hashlib.sha256(data).digest()
    print(f"{fn:<16} {lid:<24} {len(data)/MB:>8.2f} MB {os.path.getsize(zpath)/MB:>6.2f} MB  {'yes' if same else 'no'}")
layer = os.path.join(build, "CerbosPoliciesLayer")
if os.path.isdir(layer):
    zpath = os.path.join(out, "CerbosPoliciesLayer.zip")
    zipdir(layer, zpath)
    n = sum(len(f) for _, _, f in os.walk(layer))
    print(f"{'(layer)':<16} {'CerbosPoliciesLayer':<24} {n:>5} files {os.path.getsize(zpath)/1e3:>6.1f} kB")
else:
    sys.exit("package: sam build made no CerbosPoliciesLayer")
PY
log "zips in ${OUT#"$ROOT"/}/; deploy with: sam deploy --guided (docs/deploy.md)"
