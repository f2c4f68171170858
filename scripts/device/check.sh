#!/usr/bin/env bash
# The GPU check, for the lent device machine (docs/device.md): unpacks what scripts/device/pack.sh
# put in .device/, finds the Vulkan driver, lists the WebGPU adapters, then runs, each under its
# own timeout and all within one time budget: kernel correctness (scripts/device/kernel-check.ts),
# the matmul and attention benchmarks (ours and the naive baseline, f32 and f16; matmul autotuned),
# and a short training run. Writes check.log, summary.json and the benchmarks' JSON to $OUT.
# A failed step does not stop the others; the exit code is 0 only when every step passed.
#   bash scripts/device/check.sh [--quick]
# --quick (or USINE_CHECK_QUICK=1): small sizes, for trying the whole check on lavapipe.
# USINE_CHECK_BUDGET: seconds for all steps (default 460, quick 1500).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
quick=${USINE_CHECK_QUICK:-0}
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "check.sh: unknown argument '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done
export USINE_CHECK_QUICK=$quick
OUT=${OUT:-/tmp/usine-device-check}
mkdir -p "$OUT"
rm -f "$OUT"/check.log "$OUT"/summary.json "$OUT"/bench-*.json
if [ "$quick" = 1 ]; then budget=${USINE_CHECK_BUDGET:-1500}; else budget=${USINE_CHECK_BUDGET:-460}; fi
work=$(mktemp -d /tmp/usine-check.XXXXXX)
log=$OUT/check.log
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
started=$SECONDS

say() { echo "$*" | tee -a "$log"; }

# step NAME LIMIT_S COMMAND...: runs COMMAND under min(LIMIT_S, what is left of the budget),
# its output to the screen, check.log and $work/NAME.out; one line per step in steps.tsv.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - (SECONDS - started)))
  if [ "$left" -lt 20 ]; then
    say "== $name: skipped, the time budget (${budget} s) is spent"
    printf '%s\tskipped\t\t0\t%s\n' "$name" "out of time: $*" >>"$work/steps.tsv"
    return
  fi
  local t=$((limit < left ? limit : left)) t0=$SECONDS
  say "== $name (timeout ${t} s): $*"
  timeout -k 10 "$t" "$@" 2>&1 | tee -a "$log" "$work/$name.out"
  local rc=${PIPESTATUS[0]} status=ok
  [ "$rc" = 0 ] || status=failed
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && status=timeout
  say "== $name: $status (exit $rc) in $((SECONDS - t0)) s"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$((SECONDS - t0))" "$*" >>"$work/steps.tsv"
}

skip() {
  say "== $1: skipped, $2"
  printf '%s\tskipped\t\t0\t%s\n' "$1" "$2" >>"$work/steps.tsv"
}

# 1. Node and node_modules from the pack (a checkout that has its own is used as it is).
unpack() {
  local dir=.device/unpacked
  if [ ! -f .device/runtime.tar.xz ]; then
    if command -v node >/dev/null && [ -e node_modules/webgpu ]; then
      say "no .device/runtime.tar.xz: using this machine's node and node_modules"
      return 0
    fi
    say "no .device/runtime.tar.xz and no node_modules: run 'bash scripts/device/pack.sh' first, carry .device"
    return 1
  fi
  if ! cmp -s .device/PACKED "$dir/node/PACKED"; then
    rm -rf "$dir" && mkdir -p "$dir"
    # xz may be missing from the image; Python's tarfile reads xz on its own.
    if command -v xz >/dev/null; then
      tar -C "$dir" -xJf .device/runtime.tar.xz || return 1
    else
      python3 -c 'import sys, tarfile
kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
tarfile.open(sys.argv[1]).extractall(sys.argv[2], **kw)' .device/runtime.tar.xz "$dir" || return 1
    fi
  fi
  export PATH="$root/$dir/node/bin:$PATH"
  if [ ! -e node_modules ] && [ ! -L node_modules ]; then
    ln -s "$dir/node_modules" node_modules
  elif [ "$(readlink node_modules)" != "$dir/node_modules" ]; then
    say "node_modules exists here already: using it, not the packed one"
  fi
  say "node $(node --version) at $(command -v node); $(head -1 "$dir/node/PACKED")"
}

# 2. Vulkan: the device README's recipe. The loader (and GLVND, which NVIDIA's Vulkan driver
# needs) from the packed .debs where the image lacks them: into / as root on an NVIDIA machine,
# else (a developer's machine: never overwrite its libraries) into $work with LD_LIBRARY_PATH.
vulkan() {
  local nv=/usr/local/nvidia icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  local need=0
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || need=1
  if [ -f "$icd" ] && ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch\.so\.0 '; then need=1; fi
  [ "${USINE_GL_FORCE:-0}" = 1 ] && need=1
  if [ "$need" = 1 ]; then
    if ! compgen -G '.device/gl/*.deb' >/dev/null; then
      say "no Vulkan loader here and no .device/gl/*.deb packed"
    elif [ "$(id -u)" = 0 ] && [ -d "$nv" ] && [ "${USINE_GL_LOCAL:-0}" != 1 ]; then
      for f in .device/gl/*.deb; do dpkg -x "$f" /; done
      ldconfig
      say "Vulkan loader: unpacked .device/gl/*.deb into /"
    else
      for f in .device/gl/*.deb; do dpkg-deb -x "$f" "$work/gl"; done
      export LD_LIBRARY_PATH="$work/gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      say "Vulkan loader: unpacked .device/gl/*.deb into $work/gl (LD_LIBRARY_PATH)"
    fi
  fi
  # The driver's manifest sits outside the loader's search path on the device image.
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
    export __EGL_VENDOR_LIBRARY_FILENAMES=$nv/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  if [ -d "$nv/lib64" ]; then export LD_LIBRARY_PATH="$nv/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  say "$(ldconfig -p 2>/dev/null | grep -E 'libvulkan\.so\.1 |libGLdispatch\.so\.0 ' | sed 's/^\s*//' | tr '\n' ';')"
}

say "usine device check ($([ "$quick" = 1 ] && echo quick || echo full)), $(date -u +%FT%TZ), budget ${budget} s"
{
  echo "uname: $(uname -srm)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || head -1 .device/PACKED 2>/dev/null || echo unknown)"
  echo "cpus: $(nproc)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  fi
} >"$work/host.txt"
tee -a "$log" <"$work/host.txt"

if ! unpack; then
  say "cannot run: no Node runtime"
  printf '{"ok":false,"error":"no Node runtime: .device/runtime.tar.xz missing or unreadable"}\n' >"$OUT/summary.json"
  exit 1
fi
vulkan
say "node: $(node --version)"

ts=(node --import tsx)
step adapters 60 bash -c 'node --import tsx kernels/adapter-list.ts >"$1"' _ "$work/adapters.json"
adapters=$(node -e 'const a=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  for (const x of a) console.log(`${x.description||x.device} | ${x.vendor} | ${x.backend} | software ${x.software} | ${x.features.join(",")}`)' \
  "$work/adapters.json" 2>/dev/null)
say "adapters:"
say "${adapters:-  none}"

if [ -z "$adapters" ]; then
  for s in kernels bench-matmul-f32 bench-attention-f32 train bench-matmul-f16 bench-attention-f16; do
    skip "$s" 'no WebGPU adapter'
  done
else
  f16=0
  # The adapter openDevice() picks: a hardware one where there is one.
  grep -q 'shader-f16' <<<"$(grep -m1 'software false' <<<"$adapters" || head -1 <<<"$adapters")" && f16=1
  if [ "$quick" = 1 ]; then
    mm_sizes=256,512 att_sizes=4x128x16,4x128x16c
    train_args=(--steps 20 --batch 16 --eval-every 10 --eval-examples 32)
    repeats=(--repeats 3 --warmup 1)
  else
    mm_sizes=1024,2048,4096 att_sizes=8x1024x64,8x1024x64c,4x16x4096x64,4x16x4096x64c,2x16x2048x128c
    # The demo's model at its default 2000 steps: the held-out accuracy says whether it learnt.
    train_args=(--steps 2000)
    repeats=(--repeats 10 --warmup 2)
  fi
  kq=()
  [ "$quick" = 1 ] && kq=(--quick)
  bench=("${ts[@]}" kernels/bench/main.ts --impls usine,naive --no-progress "${repeats[@]}")
  step kernels 150 "${ts[@]}" scripts/device/kernel-check.ts "${kq[@]}" --json "$work/kernels.json"
  step bench-matmul-f32 150 "${bench[@]}" --kernel matmul --sizes "$mm_sizes" --dtype f32 \
    --tune --tuning-dir "$work/tuning" --json "$OUT/bench-matmul-f32.json"
  step bench-attention-f32 120 "${bench[@]}" --kernel attention --sizes "$att_sizes" --dtype f32 \
    --json "$OUT/bench-attention-f32.json"
  step train 150 "${ts[@]}" worker/train/train-local.ts "${train_args[@]}"
  if [ "$f16" = 1 ]; then
    step bench-matmul-f16 120 "${bench[@]}" --kernel matmul --sizes "$mm_sizes" --dtype f16 \
      --tune --tuning-dir "$work/tuning" --json "$OUT/bench-matmul-f16.json"
    step bench-attention-f16 90 "${bench[@]}" --kernel attention --sizes "$att_sizes" --dtype f16 \
      --json "$OUT/bench-attention-f16.json"
  else
    skip bench-matmul-f16 'the adapter has no shader-f16'
    skip bench-attention-f16 'the adapter has no shader-f16'
  fi
fi

say "== done in $((SECONDS - started)) s"
"${ts[@]}" scripts/device/summary.ts "$work" "$OUT" 2>&1 | tee -a "$log"
ok=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).ok' "$OUT/summary.json" 2>/dev/null)
rm -rf "$work"
[ "$ok" = true ]
