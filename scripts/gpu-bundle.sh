#!/usr/bin/env bash
# Self-contained linux-x64 publish of Tests and Perf (one folder, one copy of the runtime) plus the kernel
# sources and scripts/ptx.sh, packed into one .tar.gz that runs on a GPU machine without .NET.
# usage: scripts/gpu-bundle.sh [archive]      (default artifacts/gpu-bundle.tar.gz)
# On the GPU machine: mkdir b && tar -xzf gpu-bundle.tar.gz -C b && b/LightNet.Tests --filter-trait-not x
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
mkdir -p "$(dirname "$archive")"
tar -C "$stage" -czf "$archive" .
ls -l "$archive"
