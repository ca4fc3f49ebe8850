#!/usr/bin/env bash
# Mentor's installer: builds the release binaries, installs `mentor` and `mentord`, installs
# the system packages Mentor uses (espeak-ng for speech), writes a default configuration, and
# optionally a systemd user unit. Safe to run again. `--test` instead installs what the test
# suite needs and runs it.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./install.sh [--prefix DIR] [--systemd] [--open]
       ./install.sh --test

  --prefix DIR   install the binaries into DIR/bin (default: ~/.local)
  --systemd      install and enable a systemd user unit that runs mentord
  --open         open Mentor when the installation is done
  --test         install what the tests need, then run the whole test suite
  -h, --help     show this help
USAGE
}

prefix="${HOME}/.local"
systemd=0
open=0
test=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
              prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --systemd) systemd=1; shift ;;
    --open) open=1; shift ;;
    --test) test=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")"
say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "${HOME}/.cargo/bin/cargo" ] && export PATH="${HOME}/.cargo/bin:${PATH}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install the Rust toolchain with rustup, then run this again." >&2
  exit 1
fi

# System packages: what each is for. The list grows with the features that need them.
#   espeak-ng   offline text-to-speech for podcasts (and their tests)
#   tmux        end-to-end tests of the terminal UI (tests only)
#   gcc         C compiler for the bundled SQLite (usually present with Rust already)
packages=()
command -v espeak-ng >/dev/null 2>&1 || packages+=(espeak-ng)
command -v cc >/dev/null 2>&1 || packages+=(gcc libc6-dev)
if [ "$test" = 1 ]; then
  command -v tmux >/dev/null 2>&1 || packages+=(tmux)
fi

install_packages() {
  [ ${#packages[@]} -gt 0 ] || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      sudo="-"
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    if [ "$sudo" = "-" ]; then
      echo "install.sh: please install these packages, then run this again:" >&2
      echo "    sudo apt-get install -y ${packages[*]}" >&2
      return 1
    fi
    say "Installing system packages: ${packages[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  elif command -v dnf >/dev/null 2>&1; then
    [ "$sudo" != "-" ] || { echo "install.sh: run: sudo dnf install -y ${packages[*]}" >&2; return 1; }
    $sudo dnf install -y "${packages[@]}"
  elif command -v pacman >/dev/null 2>&1; then
    [ "$sudo" != "-" ] || { echo "install.sh: run: sudo pacman -S --needed ${packages[*]}" >&2; return 1; }
    $sudo pacman -S --needed --noconfirm "${packages[@]}"
  elif command -v brew >/dev/null 2>&1; then
    brew install "${packages[@]}"
  else
    echo "install.sh: install these packages with your package manager: ${packages[*]}" >&2
    return 1
  fi
}

if [ "$test" = 1 ]; then
  install_packages
  say "Running the test suite"
  exec cargo test --workspace --locked
fi

# Speech is optional for the rest of Mentor: a missing package is reported, not fatal.
install_packages || echo "install.sh: continuing without: ${packages[*]}" >&2

say "Building Mentor (release)"
cargo build --release --locked -p mentor-daemon -p mentor-tui

bindir="${prefix}/bin"
say "Installing mentor and mentord into ${bindir}"
mkdir -p "$bindir"
install -m 0755 target/release/mentor target/release/mentord "$bindir/"

# A running daemon keeps serving the old binary: restart it so client and daemon match.
if "$bindir/mentor" daemon status >/dev/null 2>&1; then
  say "Restarting the running daemon"
  "$bindir/mentor" daemon stop || true
fi

config="$(env -u MENTOR_LLM_URL -u MENTOR_LLM_MODEL -u MENTOR_LLM_API_KEY -u MENTOR_LANG "$bindir/mentor" config path)"
if [ ! -e "$config" ]; then
  say "Writing a default configuration to ${config}"
  mkdir -p "$(dirname "$config")"
  {
    echo "# Mentor configuration. Every key is optional; the values below are the defaults."
    echo "# Uncomment and change what you need. Reference: docs/configuration.md"
    echo "#"
    env -u MENTOR_LLM_URL -u MENTOR_LLM_MODEL -u MENTOR_LLM_API_KEY -u MENTOR_LANG \
      "$bindir/mentor" config show | grep -v '^# ' | sed -e 's/^\([^[].*\)$/# \1/'
  } > "$config"
  chmod 600 "$config"
fi

if [ "$systemd" = 1 ]; then
  unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  mkdir -p "$unit_dir"
  cat > "$unit_dir/mentord.service" <<UNIT
[Unit]
Description=Mentor daemon (AI teacher)
Documentation=file://$(pwd)/docs/architecture.md

[Service]
ExecStart=${bindir}/mentord
Restart=on-failure
RestartSec=2

[Install]
WantedBy=default.target
UNIT
  if systemctl --user daemon-reload 2>/dev/null && systemctl --user enable --now mentord.service 2>/dev/null; then
    say "systemd user unit mentord.service enabled"
  else
    echo "install.sh: wrote ${unit_dir}/mentord.service; enable it with: systemctl --user enable --now mentord" >&2
  fi
fi

case ":${PATH}:" in
  *":${bindir}:"*) ;;
  *) echo "install.sh: add ${bindir} to your PATH, e.g. echo 'export PATH=\"${bindir}:\$PATH\"' >> ~/.profile" >&2 ;;
esac

say "Mentor is installed. Try: ${bindir}/mentor --help"
if [ "$open" = 1 ]; then
  exec "$bindir/mentor"
fi
