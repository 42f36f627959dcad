#!/usr/bin/env bash
# Builds PTX for every CUDA C kernel source with nvcc (compute_80, JIT-compiled by the driver on Ampere
# and newer) and writes it with a first line recording the SHA-256 of the source it came from (the .cu file and the
# headers it includes).
# usage: scripts/ptx.sh [kernels-dir] [ptx-out-dir]     (needs nvcc; CUDA_PATH or /usr/local/cuda)
set -euo pipefail
src=${1:-Kernels.Cuda/kernels}
out=${2:-Kernels.Cuda/ptx}
nvcc=${NVCC:-$(command -v nvcc || echo "${CUDA_PATH:-/usr/local/cuda}/bin/nvcc")}
mkdir -p "$out"
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu)
  # The recorded hash covers the .cu file followed by the headers it includes (#include "x.cuh" from this folder).
  hash=$( { cat "$cu"; for h in $(grep -o '^#include "[^"]*"' "$cu" | cut -d'"' -f2); do cat "$src/$h"; done; } | sha256sum | cut -c1-64)
  "$nvcc" -ptx -arch=compute_80 -std=c++17 -o "$out/$name.ptx.tmp" "$cu"
  { echo "// lightnet-source-sha256: $hash $name.cu"; cat "$out/$name.ptx.tmp"; } > "$out/$name.ptx"
  rm "$out/$name.ptx.tmp"
  echo "$out/$name.ptx ($(wc -c < "$out/$name.ptx") bytes, source $hash)"
done
"$nvcc" --version | tail -2
