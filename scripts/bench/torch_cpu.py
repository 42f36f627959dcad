#!/usr/bin/env python3
"""The CPU peer of `dotnet run -c Release --project Perf -- report cpu-peer`: float32 PyTorch on the CPU, same shapes.

Items (the models are torch_lightnet.py's, the attention in its chunked form):
  gemm2048  a 2048x2048 by 2048x2048 matrix product;
  layer     the LightNet attention layer, hidden 512, H 8, d 64 (expand_ratio 64), gate rank 128, B 4, T 1024, causal,
            forward + backward;
  lm        a training step of the causal LM, hidden 512, 8 layers (expand_ratio 64), byte vocabulary 260, B 4, T 1024:
            forward, backward and AdamW (the foreach implementation).
OpenBLAS's runtime detection does not know every CPU and then falls back to its slowest x86-64 kernel (on Intel model 207
it picks Prescott, far slower than SkylakeX's), so unless OPENBLAS_CORETYPE is set this script sets it from the
/proc/cpuinfo flags before torch loads, and prints the BLAS library and kernel in use.

usage: torch_cpu.py --threads N [--rounds R] [--items gemm2048,layer,lm]   a table of medians over R alternating rounds
       torch_cpu.py --threads N --serve    a header, then `ready`; each stdin line `run ITEM` is answered with `ms <float>`
                                           (one timed execution, after one untimed warm-up on the item's first use)
Needs the Debian packages python3-torch and libopenblas0-pthread (or any torch build).
"""
import argparse
import os
import re
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="CPU peer of LightNet.Perf report cpu-peer")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--items", default="gemm2048,layer,lm")
    return ap.parse_args()


def openblas_coretype():
    """The OPENBLAS_CORETYPE matching this CPU's flags (SkylakeX, Haswell), or None."""
    with open("/proc/cpuinfo") as f:
        flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
CORETYPE_SOURCE = "set by the user"
if "OPENBLAS_CORETYPE" not in os.environ and (detected := openblas_coretype()):
    os.environ["OPENBLAS_CORETYPE"] = detected
    CORETYPE_SOURCE = "set by torch_cpu.py from /proc/cpuinfo"

import ctypes  # noqa: E402
import torch  # noqa: E402  (after the environment above: OpenBLAS reads it when it loads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_lightnet import CausalLM, LightNetAttention  # noqa: E402

torch.set_num_threads(ARGS.threads)


def blas_lines():
    """The BLAS libraries mapped into this process, and OpenBLAS's configuration and kernel where it exports them."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1].lower() and "/" in line})
    lines = [f"blas library: {lib}" for lib in libs]
    for lib in libs:
        handle = ctypes.CDLL(lib)
        if hasattr(handle, "openblas_get_corename"):
            handle.openblas_get_config.restype = handle.openblas_get_corename.restype = ctypes.c_char_p
            lines.append(f"openblas: {handle.openblas_get_config().decode()}; kernel {handle.openblas_get_corename().decode()}")
            break
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"OPENBLAS_CORETYPE={coretype} ({CORETYPE_SOURCE})" if coretype else "OPENBLAS_CORETYPE unset")
    return lines


def header():
    config = torch.__config__.show()
    blas_info = re.search(r"BLAS_INFO=\w+", config)[0]
    capability = next((line.strip(" -") for line in config.splitlines() if "CPU capability" in line), "")
    return [f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32; {blas_info}; {capability}"] + blas_lines()


def gemm2048():
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    return lambda: a @ b


def layer():
    module = LightNetAttention(512, expand_ratio=64, rank=128)
    x = torch.randn(4, 1024, 512, requires_grad=True)
    dy = torch.randn_like(x)

    def step():
        module(x).backward(dy)
        x.grad = None
        module.zero_grad(set_to_none=True)
    return step


def lm():
    model = CausalLM(260, 512, 8, expand_ratio=64)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01, foreach=True)
    ids = torch.randint(0, 260, (4, 1024))

    def step():
        model.loss(ids).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


ITEMS = {"gemm2048": gemm2048, "layer": layer, "lm": lm}
built = {}


def run_ms(name):
    """One timed execution of the item, built and warmed up on first use."""
    if name not in built:
        built[name] = ITEMS[name]()
        built[name]()
    t = time.perf_counter()
    built[name]()
    return (time.perf_counter() - t) * 1e3


def serve():
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["quit"]:
            return
        if len(words) != 2 or words[0] != "run" or words[1] not in ITEMS:
            print(f"error: expected `run {'|'.join(ITEMS)}` or `quit`, got {line.strip()!r}", flush=True)
            continue
        print(f"ms {run_ms(words[1]):.3f}", flush=True)


def table(names, rounds):
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(run_ms(name))
    print(f"| item | median ms | min ms | max ms |  ({rounds} rounds)")
    print("|---|---|---|---|")
    for name, ms in times.items():
        ms.sort()
        print(f"| {name} | {ms[len(ms) // 2]:.1f} | {ms[0]:.1f} | {ms[-1]:.1f} |")


def main():
    print("\n".join(header()), flush=True)
    if ARGS.serve:
        print("ready", flush=True)
        serve()
    else:
        table(ARGS.items.split(","), ARGS.rounds)


if __name__ == "__main__":
    main()
