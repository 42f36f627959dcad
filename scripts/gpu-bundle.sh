#!/usr/bin/env bash
# Self-contained linux-x64 publish of Tests and Perf (one folder, one copy of the runtime) plus the kernel
# sources and scripts/ptx.sh, packed into one archive that runs on a GPU machine without .NET.
# usage: scripts/gpu-bundle.sh [archive]      (default artifacts/gpu-bundle.tar.gz; a name ending in .xz packs with xz)
#   GOLDEN=dir   also copies the golden files of dir into shared-golden/ (on the GPU machine: LIGHTNET_GOLDEN_DIR=b/shared-golden
#                runs them beside the repository's own Tests/golden, which the test binaries carry in bin/golden)
#   SLIM=1       leaves out what a GPU test or perf run does not need (BenchmarkDotNet's disassembler and diagnostics
#                libraries, the native Skia and HarfBuzz libraries that only the Cli's plots draw with, the shared 7.7 MB
#                fla_checkpoint_tiny golden folder), so that the archive and a working tree fit a 64 MiB transfer;
#                BenchmarkDotNet runs of Perf and the plotting tests then need the full bundle
# On the GPU machine: mkdir b && tar -xf ARCHIVE -C b && b/bin/LightNet.Tests --filter "TestCategory=Cuda"
# (LIGHTNET_CUDA_PTX_DIR=dir loads PTX that scripts/ptx.sh built there from the working tree's sources instead of the
# embedded PTX.)
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${1:-artifacts/gpu-bundle.tar.gz}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dotnet publish Tests -c Release -r linux-x64 --self-contained -o "$stage/bin" -p:GenerateDocumentationFile=false
dotnet publish Perf -c Release -r linux-x64 --self-contained -o "$stage/bin" -p:GenerateDocumentationFile=false
mkdir -p "$stage/kernels" "$stage/scripts"
cp Kernels.Cuda/kernels/*.cu Kernels.Cuda/kernels/*.cuh "$stage/kernels/"
cp scripts/ptx.sh "$stage/scripts/"
if [ -n "${GOLDEN:-}" ]; then cp -r "$GOLDEN" "$stage/shared-golden"; fi
if [ "${SLIM:-0}" = 1 ]; then
  (cd "$stage/bin" && rm -f libcapstone.so Microsoft.CodeAnalysis*.dll Microsoft.Diagnostics.Tracing.TraceEvent.dll \
    Microsoft.Diagnostics.NETCore.Client.dll Microsoft.Diagnostics.Runtime.dll Iced.dll libSkiaSharp.so libHarfBuzzSharp.so)
  rm -rf "$stage/shared-golden/fla_checkpoint_tiny"
fi
mkdir -p "$(dirname "$archive")"
case "$archive" in
  *.xz) tar -C "$stage" -cJf "$archive" . ;;
  *) tar -C "$stage" -czf "$archive" . ;;
esac
ls -l "$archive"
