#!/usr/bin/env bash
# Builds one OCI image per binary with buildah, without a Docker daemon:
#
#   scripts/build-images.sh                      # all five, profile `image`
#   scripts/build-images.sh mcp-slack sre-agent  # some of them
#   PROFILE=release scripts/build-images.sh      # fully optimised (slower build)
#
# Each image is FROM scratch: the binary in /usr/local/bin, the shared
# libraries `ldd` names (glibc, libgcc_s, the dynamic loader), the CA
# certificates of this machine, /etc/passwd and /etc/group with the non-root
# user 65532 (`nonroot`), which the image runs as. The sre-agent image also
# carries fixtures/scenarios (the offline demo: `investigate --scenario
# fixtures/scenarios/...`; each scenario holds the recordings it replays) in
# its working directory /usr/share/sre-agent. Labels: org.opencontainers.image.*
# (title, version from Cargo, revision = git commit, source, licenses).
#
# Output: $OUT/NAME.oci.tar (default ${CARGO_TARGET_DIR:-target}/images), an
# OCI archive; load it with `podman load -i`, push it with
# `skopeo copy oci-archive:target/images/NAME.oci.tar docker://REGISTRY/NAME:VERSION`.
#
# The Dockerfile at the repository root builds the same images with Docker
# (same user, entrypoints, arguments and labels). Figures: docs/operations.md.
#
# Needs buildah (Debian: `apt-get install buildah`) and cargo. As root it
# mounts the working container directly; otherwise it runs itself again
# under `buildah unshare`.
#
# Environment: PROFILE (cargo profile, default `image`), OUT (output folder),
# SKIP_BUILD=1 (use the binaries already built), CARGO_TARGET_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

all=(mcp-kubernetes mcp-signoz mcp-mongodb mcp-slack sre-agent)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")

profile="${PROFILE:-image}"
target="${CARGO_TARGET_DIR:-$root/target}"
out="${OUT:-$target/images}"
uid=65532

if ! command -v buildah >/dev/null 2>&1; then
  echo "build-images: buildah is not installed (Debian: apt-get install buildah;" \
    "scripts/setup-test-deps.sh installs it as root)" >&2
  exit 3
fi
if [ "$(id -u)" != "0" ] && [ -z "${_BUILD_IMAGES_UNSHARED:-}" ]; then
  export _BUILD_IMAGES_UNSHARED=1
  exec buildah unshare "$0" "$@"
fi

package_of() {
  case "$1" in
    sre-agent) echo sre-agent-cli ;;
    mcp-kubernetes | mcp-signoz | mcp-mongodb | mcp-slack) echo "$1" ;;
    *) echo "build-images: unknown image $1 (one of: ${all[*]})" >&2; return 2 ;;
  esac
}

# --- 1. The binaries ----------------------------------------------------------
packages=()
for n in "${names[@]}"; do packages+=(-p "$(package_of "$n")"); done
case "$profile" in
  dev | test) echo "build-images: profile $profile is not optimised; use image or release" >&2; exit 2 ;;
esac
if [ -z "${SKIP_BUILD:-}" ]; then
  t0=$SECONDS
  cargo build --locked --profile "$profile" "${packages[@]}"
  echo "build-images: cargo build --profile $profile took $((SECONDS - t0))s" >&2
fi
bindir="$target/$profile"

# --- 2. What every image says about itself -------------------------------------
workspace_key() { # the first `key = "value"` of [workspace.package] in Cargo.toml
  sed -n '/^\[workspace.package\]/,/^\[/p' Cargo.toml | sed -n "s/^$1 *= *\"\(.*\)\"/\1/p" | head -1
}
version="$(workspace_key version)"
source_url="$(workspace_key repository)"
licenses="$(workspace_key license)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "build-images: warning: the work tree has uncommitted changes; revision $revision does not describe them" >&2
fi
created_epoch="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
created="$(date -u -d "@$created_epoch" +%Y-%m-%dT%H:%M:%SZ)"

mkdir -p "$out"

# The working container of the image being built; removed however the script ends.
ctr=""
cleanup() { [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1; ctr=""; }
trap cleanup EXIT

# Copies the file at absolute path $1 (following links) to the same path under $2.
copy_abs() {
  install -D -m "$3" "$(readlink -f "$1")" "$2$1"
}

build_one() {
  local name="$1" bin="$bindir/$1"
  [ -x "$bin" ] || { echo "build-images: $bin is missing (SKIP_BUILD without a build?)" >&2; return 1; }
  local mnt
  ctr="$(buildah from --quiet scratch)"
  mnt="$(buildah mount "$ctr")"

  install -D -m 0755 "$bin" "$mnt/usr/local/bin/$name"
  # The libraries the dynamic loader will look for, at the paths ldd found them
  # (the loader's default directories, so no ld.so.cache is needed).
  local lib
  while read -r lib; do
    [ -n "$lib" ] && copy_abs "$lib" "$mnt" 0755
  done < <(ldd "$bin" | awk '/=> \// {print $3} /^[[:space:]]*\// {print $1}')
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$mnt/etc"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' "$uid" "$uid" > "$mnt/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$uid" > "$mnt/etc/group"
  chmod 0644 "$mnt/etc/passwd" "$mnt/etc/group"
  install -d -m 0700 -o "$uid" -g "$uid" "$mnt/home/nonroot"
  install -d -m 1777 "$mnt/tmp"

  local workdir=/ cmd=()
  if [ "$name" = sre-agent ]; then
    workdir=/usr/share/sre-agent
    mkdir -p "$mnt$workdir/fixtures"
    cp -r --no-preserve=ownership fixtures/scenarios "$mnt$workdir/fixtures/scenarios"
    chmod -R u=rwX,go=rX "$mnt$workdir"
    cmd=(--cmd '["--help"]')
  fi

  buildah config \
    --entrypoint "[\"/usr/local/bin/$name\"]" "${cmd[@]}" \
    --user "$uid:$uid" \
    --workingdir "$workdir" \
    --port 8080 \
    --env HOME=/home/nonroot \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "org.opencontainers.image.title=$name" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.source=$source_url" \
    --label "org.opencontainers.image.licenses=$licenses" \
    --label "org.opencontainers.image.created=$created" \
    "$ctr"
  buildah umount "$ctr" >/dev/null
  rm -f "$out/$name.oci.tar"
  buildah commit --quiet --format oci --disable-compression=false --timestamp "$created_epoch" \
    "$ctr" "oci-archive:$out/$name.oci.tar:$name:$version" >/dev/null
  cleanup
  echo "build-images: $out/$name.oci.tar ($(du -k "$out/$name.oci.tar" | cut -f1) KiB)" >&2
}

for n in "${names[@]}"; do build_one "$n"; done
