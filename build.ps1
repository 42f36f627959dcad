#!/usr/bin/env pwsh
# Single developer entry: dotnet tool restore; dotnet pwsh build.ps1 <target> [args]
#   build        Release build, warnings as errors
#   test         the test suite (same as the README's command)
#   bench        kernel report against the machine's ceilings (Perf report); extra args go to it
#   benchmarkdotnet  BenchmarkDotNet suites (extra args, e.g. --filter *Matmul*)
#   ci           what CI runs (.ci/run)
#   ptx          regenerate Kernels.Cuda/ptx/*.ptx from Kernels.Cuda/kernels/*.cu with nvcc (scripts/ptx.sh)
#   gpu-bundle   self-contained linux-x64 Tests + Perf in one .tar.gz for a GPU machine without .NET (scripts/gpu-bundle.sh)
param([Parameter(Position = 0)][string]$Target = 'build', [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @())
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
function Invoke-Step([string]$exe, [string[]]$argv) {
    & $exe @argv
    if ($LASTEXITCODE -ne 0) { throw "$exe $($argv -join ' ') failed with exit code $LASTEXITCODE" }
}
switch ($Target) {
    'build' { Invoke-Step dotnet @('build', 'LightNet.Engine.sln', '-c', 'Release', '-warnaserror') }
    'test' { Invoke-Step dotnet (@('test', '-c', 'Release') + $Rest) }
    'bench' { Invoke-Step dotnet (@('run', '-c', 'Release', '--project', 'Perf', '--', 'report') + $Rest) }
    'benchmarkdotnet' { Invoke-Step dotnet (@('run', '-c', 'Release', '--project', 'Perf', '--') + $Rest) }
    'ci' { Invoke-Step bash @('.ci/run') }
    'ptx' { Invoke-Step bash (@('scripts/ptx.sh') + $Rest) }
    'gpu-bundle' { Invoke-Step bash (@('scripts/gpu-bundle.sh') + $Rest) }
    default { throw "unknown target '$Target' (build, test, bench, benchmarkdotnet, ci, ptx, gpu-bundle)" }
}
