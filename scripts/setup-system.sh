#!/usr/bin/env bash
# Installs the system packages usine needs when they are missing:
#   redis-server (job store), libvulkan1 + Mesa's lavapipe from bookworm-backports
#   (a CPU WebGPU adapter when the machine has no GPU driver), prometheus, openssl and chromium
#   (tests only: the console's browser test drives Debian's chromium headless).
# As root it installs them; otherwise it prints the exact command to run.
# Usage: scripts/setup-system.sh [--with-prometheus]
set -euo pipefail

want_prom=0
for arg in "$@"; do
  case "$arg" in
    --with-prometheus) want_prom=1 ;;
    -h | --help)
      cat <<'EOF'
Usage: scripts/setup-system.sh [--with-prometheus]

Installs the system packages usine needs when they are missing: redis-server, and libvulkan1
with Mesa's lavapipe from bookworm-backports when Dawn finds no WebGPU adapter. As root it
installs them with apt-get; otherwise it prints the command to run. npm start and npm test
run it first.

Options:
  --with-prometheus  also what only the tests use: prometheus (promtool), openssl, and chromium
                     (the web console's browser test drives it headless; nothing downloads a browser)
  -h, --help         display this help

Example:
  bash scripts/setup-system.sh --with-prometheus
EOF
      exit 0
      ;;
    *)
      echo "error: unknown option '$arg' (see scripts/setup-system.sh --help)" >&2
      exit 2
      ;;
  esac
done

here="$(cd "$(dirname "$0")/.." && pwd)"
need_redis=0; need_vulkan=0; need_prom=0; need_openssl=0; need_chromium=0
command -v redis-server >/dev/null 2>&1 || need_redis=1
[ $want_prom = 1 ] && ! command -v promtool >/dev/null 2>&1 && need_prom=1
# The tests make a CA and a certificate for the TLS Redis test with openssl.
[ $want_prom = 1 ] && ! command -v openssl >/dev/null 2>&1 && need_openssl=1
# The web console's browser test (test/console/) drives /usr/bin/chromium headless.
[ $want_prom = 1 ] && ! [ -x /usr/bin/chromium ] && need_chromium=1

# A WebGPU adapter is "usable" when Dawn finds one. Probe only once node_modules exists.
if [ -d "$here/node_modules/webgpu" ]; then
  if ! node "$here/scripts/probe-adapter.mjs" >/dev/null 2>&1; then need_vulkan=1; fi
else
  # Before npm ci: judge by the presence of a Vulkan loader and a recent Mesa ICD.
  if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then need_vulkan=1; fi
fi

[ $need_redis = 0 ] && [ $need_vulkan = 0 ] && [ $need_prom = 0 ] && [ $need_openssl = 0 ] && [ $need_chromium = 0 ] \
  && exit 0

backports_src=/etc/apt/sources.list.d/bookworm-backports.sources
add_backports() {
  # Reuse the machine's own Debian mirror for bookworm-backports.
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    awk 'BEGIN{RS="";ORS="\n\n"} /Suites:[^\n]*bookworm( |\n|$)/{print; exit}' /etc/apt/sources.list.d/debian.sources \
      | sed 's/^Suites:.*/Suites: bookworm-backports/' > "$backports_src"
  fi
}

pkgs=()
[ $need_redis = 1 ] && pkgs+=(redis-server)
[ $need_prom = 1 ] && pkgs+=(prometheus)
[ $need_openssl = 1 ] && pkgs+=(openssl)
[ $need_chromium = 1 ] && pkgs+=(chromium)

if [ "$(id -u)" != 0 ]; then
  echo "usine: missing system packages. Run as root:" >&2
  [ ${#pkgs[@]} -gt 0 ] && echo "  apt-get update && apt-get install -y ${pkgs[*]}" >&2
  [ $need_vulkan = 1 ] && echo "  (enable bookworm-backports, then) apt-get install -y libvulkan1 && apt-get install -y -t bookworm-backports mesa-vulkan-drivers" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
[ $need_vulkan = 1 ] && add_backports
echo "usine: installing system packages: ${pkgs[*]} $([ $need_vulkan = 1 ] && echo 'libvulkan1 mesa-vulkan-drivers(bookworm-backports)')" >&2
apt-get update -qq
[ ${#pkgs[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
if [ $need_vulkan = 1 ]; then
  apt-get install -y -qq --no-install-recommends libvulkan1 >/dev/null
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
# Debian's packages start their own services; usine starts Redis/Prometheus itself.
for s in redis-server prometheus; do
  command -v systemctl >/dev/null 2>&1 && systemctl disable --now "$s" >/dev/null 2>&1 || true
done
exit 0
