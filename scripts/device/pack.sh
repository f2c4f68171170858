#!/usr/bin/env bash
# Packs into .device/ (git-ignored) what scripts/device/check.sh needs on the lent GPU machine and
# cannot get there (no network, maybe no Node): this machine's Node 20 (linux-x64) and a slim
# node_modules (the kernels' and training's run-time packages, webgpu with its linux-x64 build
# only, no benchmark baselines) in one xz tarball, and the Vulkan loader's .deb files as the
# device README's recipe names them. Run from anywhere in the repository, on an x86-64 machine
# with `npm ci` done and network for `apt-get download`:
#   bash scripts/device/pack.sh
# Then carry `.device` in the device run (docs/device.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
dest=.device
die() {
  echo "pack.sh: $*" >&2
  exit 1
}

# What the check runs: the kernels (webgpu), the benchmark and training CLIs (commander,
# cli-progress, zod), TypeScript through tsx (esbuild). onnxruntime-node and @tensorflow are
# baselines the check leaves out (--impls usine,naive): over 100 MiB that would not travel.
packages=(webgpu tsx commander cli-progress zod)

node_bin=$(command -v node) || die 'no node on PATH'
node_desc=$(node -p 'process.version + " " + process.platform + "-" + process.arch')
case "$node_desc" in
  'v20.'*' linux-x64') ;;
  *) die "need Node 20 for linux-x64 (the device machine is x86-64 Linux); this one is $node_desc" ;;
esac
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] ||
  die 'node_modules/webgpu/dist/linux-x64/dawn.node is missing: run npm ci first'

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/node/bin" "$stage/node_modules" "$dest/gl"

# Node: one self-contained binary; its debug symbols (~12 MiB) are no use there.
cp "$node_bin" "$stage/node/bin/node"
if command -v strip >/dev/null; then strip "$stage/node/bin/node"; fi
"$stage/node/bin/node" --version >/dev/null || die 'the stripped node does not run'

mapfile -t dirs < <(node --import tsx scripts/device/module-closure.ts node_modules "${packages[@]}")
excludes=(--exclude='*.d.ts' --exclude='*.d.cts' --exclude='*.d.mts' --exclude='*.map' --exclude='*.md')
for d in node_modules/webgpu/dist/*/; do
  platform=$(basename "$d")
  [ "$platform" = linux-x64 ] || excludes+=(--exclude="webgpu/dist/$platform")
done
# One tar pipe keeps esbuild's binary, hard-linked from @esbuild/linux-x64, stored once.
tar -C node_modules/ -cf - "${excludes[@]}" "${dirs[@]}" | tar -C "$stage/node_modules" -xf -

git_head=$(git rev-parse HEAD 2>/dev/null || echo unknown)
{
  echo "packed $(date -u +%FT%TZ) from commit $git_head"
  echo "node $node_desc (from $node_bin, stripped)"
  echo "webgpu $(node -p 'require("./node_modules/webgpu/package.json").version')"
  echo "packages: ${dirs[*]}"
} >"$stage/node/PACKED"

echo "pack.sh: compressing (xz -9, about a minute)..."
rm -f "$dest/runtime.tar.xz"
XZ_OPT=-9 tar -C "$stage" -cJf "$dest/runtime.tar.xz.part" node node_modules
mv "$dest/runtime.tar.xz.part" "$dest/runtime.tar.xz"

# The Vulkan loader and GLVND, exactly the device README's recipe (amd64, whatever this machine's
# architecture): the image may lack libvulkan.so.1, and NVIDIA's Vulkan driver (libGLX_nvidia)
# needs libGLdispatch. check.sh unpacks them only where the loader is missing.
debs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
have_all=1
for p in "${debs[@]}"; do compgen -G "$dest/gl/${p}_*_amd64.deb" >/dev/null || have_all=0; done
if [ "$have_all" = 0 ]; then
  rm -f "$dest"/gl/*.deb
  mkdir -p /tmp/amd64/partial
  apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${apt_opts[@]}" update -qq || die 'apt-get update failed (no network?)'
  (cd "$dest/gl" && apt-get "${apt_opts[@]}" download "${debs[@]}") || die 'apt-get download failed'
fi
cp "$stage/node/PACKED" "$dest/PACKED"
ls -l "$dest"/gl/*.deb | awk '{ print "pack.sh:   " $NF " " $5 }'
echo "pack.sh: $dest/runtime.tar.xz $(du -h "$dest/runtime.tar.xz" | cut -f1); $dest in all: $(du -sh "$dest" | cut -f1)"
