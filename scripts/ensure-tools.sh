#!/usr/bin/env bash
# Installs what loadlab's build and tests need and this machine lacks; skips everything already present, so a
# second run takes a second. What works on these machines is recorded in ../shared/TOOLCHAIN.md:
#   - the wasm32 target (rustup);
#   - trunk 0.21 (0.22 needs a newer rustc), built with --locked;
#   - wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen version, built WITHOUT --locked (its lock pins a
#     crate the registry here does not serve);
#   - wasm-opt from npm's binaryen (Debian's is too old), playwright-core and lighthouse 12.2.3 (for
#     scripts/lighthouse.mjs, a benchmark; 13.x wants node 22), all from package-lock.json;
#   - for tests only: Debian's Chromium and ChromeDriver (playwright's own browser download fails here).
# Usage: scripts/ensure-tools.sh web   (what `make serve` needs)
#        scripts/ensure-tools.sh all   (what `make test` needs)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

say() { printf 'ensure-tools: %s\n' "$*" >&2; }

wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wbg_version" ]; then
  say "cannot read the wasm-bindgen version from Cargo.lock"
  exit 1
fi
if ! grep -q "^wasm_bindgen = \"$wbg_version\"" Trunk.toml; then
  say "Trunk.toml's [tools] wasm_bindgen must equal Cargo.lock's wasm-bindgen $wbg_version"
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  say "installing trunk 0.21 (about 12 minutes on 2 cores, once)"
  cargo install trunk --version '~0.21' --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg_version"; then
  say "installing wasm-bindgen-cli $wbg_version (about 5 minutes, once)"
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -f node_modules/playwright-core/package.json ] \
  || [ ! -f node_modules/lighthouse/package.json ]; then
  say "installing binaryen (wasm-opt), playwright-core and lighthouse from package-lock.json"
  npm ci --no-audit --no-fund
fi

if [ "$what" = all ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  say "installing Debian's chromium and chromium-driver"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
fi
