#!/usr/bin/env bash
# Provisions what the end-to-end suite (test/e2e) needs, from scratch and idempotently:
#   - Debian packages chromium (the browser Playwright drives), ripgrep (VS Code's search binary,
#     which code-server's postinstall would otherwise download) and libkrb5-dev (headers for the
#     `kerberos` native module): installed with apt-get only when missing;
#   - code-server 4.100.3 (VS Code 1.100 in a browser; later versions need Node 22) in
#     .cache/code-server, installed by hand as /work/shared/notes/real-vscode-e2e.md describes,
#     because its own postinstall downloads binaries from outside the npm registry.
# A finished install is marked by .cache/code-server/.provisioned and reused; an interrupted one
# is thrown away and redone. No standard input is read (CI runs it). Prints the code-server folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=4.100.3
CACHE=${TRIBUTARY_E2E_CACHE:-$ROOT/.cache}
TARGET=$CACHE/code-server
MARKER=$TARGET/.provisioned
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
log() { echo "provision-e2e: $*" >&2; }

# --- system packages ---------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [[ ! -f $MARKER || $(cat "$MARKER") != "$VERSION" ]]; then
  # Needed only to build code-server's native modules.
  command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  for tool in make g++ python3; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
fi
if ((${#missing[@]})); then
  # python3 is Debian's python3, make/g++ come from build-essential.
  pkgs=()
  for p in "${missing[@]}"; do case $p in make | g++) pkgs+=(build-essential) ;; *) pkgs+=("$p") ;; esac; done
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  if [[ $(id -u) != 0 ]]; then
    log "missing ${pkgs[*]}; run as root, or: sudo apt-get update && sudo apt-get install -y ${pkgs[*]}"
    exit 1
  fi
  log "apt-get install ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" </dev/null >/dev/null
fi

# --- code-server -------------------------------------------------------------------------------
if [[ -f $MARKER && $(cat "$MARKER") == "$VERSION" && -f $TARGET/out/node/entry.js ]]; then
  log "code-server $VERSION already in $TARGET"
  echo "$TARGET"
  exit 0
fi
started=$(date +%s)
mkdir -p "$CACHE"
STAGE=$(mktemp -d "$CACHE/code-server.partial.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
log "installing code-server $VERSION (about 75 s)"
(
  cd "$STAGE"
  npm pack "code-server@$VERSION" --silent >/dev/null </dev/null
  tar xzf "code-server-$VERSION.tgz"
  rm "code-server-$VERSION.tgz"
  cd package/lib/vscode
  npm install --omit=dev --ignore-scripts --loglevel=error </dev/null
  # @vscode/ripgrep's postinstall downloads rg: put Debian's binary where it would have gone.
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  # Builds node-pty, spdlog, kerberos, ... (npm_config_yes answers npm's prompts).
  npm rebuild --loglevel=error </dev/null >/dev/null
  ln -sfn node_modules node_modules.asar
  (cd extensions && npm install --omit=dev --ignore-scripts --loglevel=error </dev/null)
  cd ../..
  npm install --omit=dev --ignore-scripts --loglevel=error </dev/null
  npm rebuild argon2 --loglevel=error </dev/null >/dev/null
)
rm -rf "$TARGET"
mv "$STAGE/package" "$TARGET"
echo "$VERSION" >"$MARKER"
log "code-server $VERSION installed in $TARGET in $(($(date +%s) - started)) s"
echo "$TARGET"
