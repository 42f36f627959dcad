#!/usr/bin/env python3
"""The LightNet causal LM of SPEC.md written in plain PyTorch (no fla, no Triton, no torch.compile), timed on one GPU.

It is the baseline that `LightNet.Perf cuda-model` is compared with, both run on the same machine:
  * the additive attention op alone at B=8, H=16, T=4096, d=e=128 (forward, forward + backward);
  * the LightNet attention layer, hidden 2048 (H=16, d=128), B=4, T=4096 (forward, forward + backward);
  * a training step of fla's 222.9 M-parameter causal LM (hidden 1024, 12 layers, expand_ratio 128, vocab 32000),
    B=8, T=2048, AdamW (PyTorch's fused implementation).
Modes: fp32 (exact products), tf32 (float32 with TF32 matmuls), bf16-autocast (float32 master weights),
bf16-weights (bfloat16 weights and optimizer state, like fla's benchmark).

Attention is the chunked algorithm (chunks of 64): intra-chunk scores in the factored form
(q e^G)(k̄ e^-G)^T, chunk states K̄_c^T V_c decayed to the chunk end, a sequential prefix over chunks. The factored
form has positive exponents (e^-G), so it is a timing baseline for random inputs, not a stable implementation: keys
that jump by ~88 inside a chunk overflow it (the engine's kernels switch to the pairwise form there).
In bf16-autocast mode torch runs the attention products in bf16 too; the engine's bf16 mode rounds only the cuBLAS
products (the linear layers) and keeps attention in TF32 with float32 activations.
The model classes run on any device; scripts/bench/torch_cpu.py imports them for the CPU peer of `Perf report cpu-peer`.
usage: python3 torch_lightnet.py [--modes fp32,tf32,bf16-autocast,bf16-weights] [--steps 10] [--what op,layer,lm]
"""
import argparse
import contextlib
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CHUNK = 64


def gated_chunked(q, kbar, v, g, scale):
    """o_t = scale * sum_{s<=t} q_t . (kbar_s * exp(G_t - G_s)) v_s with g the per-token log decay; [B,H,T,*]."""
    B, H, T, d = q.shape
    e = v.shape[-1]
    n = T // CHUNK
    q = q.reshape(B, H, n, CHUNK, d)
    kbar = kbar.reshape(B, H, n, CHUNK, d)
    v = v.reshape(B, H, n, CHUNK, e)
    G = g.float().reshape(B, H, n, CHUNK, d).cumsum(3)
    last = G[:, :, :, -1:, :]
    dt = v.dtype  # products in the inputs' dtype (bf16 when the weights are), decays in float32
    qe = (q * G.exp()).to(dt)
    a = qe @ (kbar * (-G).exp()).to(dt).transpose(-1, -2)
    mask = torch.ones(CHUNK, CHUNK, dtype=torch.bool, device=q.device).tril()
    o = a.masked_fill(~mask, 0) @ v
    u = (kbar * (last - G).exp()).to(dt).transpose(-1, -2) @ v  # [B,H,n,d,e]: each chunk's state contribution
    decay = last.squeeze(3).exp().unsqueeze(-1)  # [B,H,n,d,1]
    s = torch.zeros(B, H, d, e, dtype=u.dtype, device=q.device)
    states = []
    for c in range(n):
        states.append(s)
        s = decay[:, :, c] * s + u[:, :, c]
    o = o + qe @ torch.stack(states, 2).to(qe.dtype)
    return (o * scale).reshape(B, H, T, e)


def additive_causal(q, k, v, scale):
    """SPEC §1: Z = logcumsumexp(k), k̄ = exp(k - Z), g_t = Z_{t-1} - Z_t, then the gated form."""
    z = torch.logcumsumexp(k.float(), dim=2)
    kbar = torch.exp(k.float() - z).to(q.dtype)
    g = torch.cat([torch.zeros_like(z[:, :, :1]), z[:, :, :-1] - z[:, :, 1:]], dim=2)
    return gated_chunked(q, kbar, v, g, scale)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class LightNetAttention(nn.Module):
    def __init__(self, c, expand_ratio=128, rank=128):
        super().__init__()
        self.h, self.d, self.e = c // expand_ratio, expand_ratio, c // (c // expand_ratio)
        self.q_proj = nn.Linear(c, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(c, self.h * self.d, bias=False)
        self.v_proj = nn.Linear(c, c, bias=False)
        self.g_proj = nn.Sequential(nn.Linear(c, rank, bias=False), nn.Linear(rank, c, bias=False))
        self.g_norm = RMSNorm(c, 1e-6)
        self.o_proj = nn.Linear(c, c, bias=False)

    def forward(self, x):
        B, T, c = x.shape
        heads = lambda t, w: t.view(B, T, self.h, w).transpose(1, 2)
        q = heads(F.silu(self.q_proj(x)), self.d)
        k = heads(self.k_proj(x), self.d)
        v = heads(self.v_proj(x), self.e)
        o = additive_causal(q, k, v, self.d ** -0.5).transpose(1, 2).reshape(B, T, c)
        return self.o_proj(self.g_norm(o) * F.silu(self.g_proj(x)))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        inter = 256 * math.ceil(int(c * 4 * 2 / 3) / 256)
        self.gate_proj = nn.Linear(c, inter, bias=False)
        self.up_proj = nn.Linear(c, inter, bias=False)
        self.down_proj = nn.Linear(inter, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c, expand_ratio=128):
        super().__init__()
        self.attn_norm, self.attn = RMSNorm(c, 1e-6), LightNetAttention(c, expand_ratio)
        self.mlp_norm, self.mlp = RMSNorm(c, 1e-6), Mlp(c)

    def forward(self, h):
        h = h + self.attn(self.attn_norm(h))
        return h + self.mlp(self.mlp_norm(h))


class CausalLM(nn.Module):
    def __init__(self, vocab, c, layers, expand_ratio=128):
        super().__init__()
        self.embeddings = nn.Embedding(vocab, c)
        self.layers = nn.ModuleList(Block(c, expand_ratio) for _ in range(layers))
        self.norm = RMSNorm(c, 1e-6)
        self.lm_head = nn.Linear(c, vocab, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0, 0.02)

    def loss(self, ids):
        h = self.embeddings(ids)
        for layer in self.layers:
            h = layer(h)
        logits = self.lm_head(self.norm(h))
        # The logits in place (no copy of a shifted slice): the last position's target is ignored, as in the engine.
        targets = F.pad(ids[:, 1:], (0, 1), value=-100)
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100)


def median_ms(fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[reps // 2]


def setup(mode):
    exact = mode == "fp32"
    torch.backends.cuda.matmul.allow_tf32 = not exact
    torch.backends.cudnn.allow_tf32 = not exact
    autocast = torch.autocast("cuda", torch.bfloat16) if mode == "bf16-autocast" else contextlib.nullcontext()
    dtype = torch.bfloat16 if mode == "bf16-weights" else torch.float32
    return autocast, dtype


def bench_op(mode, reps):
    autocast, dtype = setup(mode)
    gen = torch.Generator("cuda").manual_seed(0)
    shape = (8, 16, 4096, 128)
    q, k, v = (torch.randn(shape, device="cuda", dtype=dtype, generator=gen).requires_grad_() for _ in range(3))
    do = torch.randn(shape, device="cuda", dtype=dtype, generator=gen)

    def fwd():
        with torch.no_grad(), autocast:
            additive_causal(q, k, v, 0.088)

    def both():
        with autocast:
            o = additive_causal(q, k, v, 0.088)
        o.backward(do)
        q.grad = k.grad = v.grad = None

    print(f"  additive attention op B8 H16 T4096 d=e=128 {mode}: forward {median_ms(fwd, reps):.2f} ms, "
          f"forward+backward {median_ms(both, reps):.2f} ms", flush=True)


def bench_layer(mode, reps):
    autocast, dtype = setup(mode)
    torch.manual_seed(0)
    layer = LightNetAttention(2048).cuda().to(dtype)
    x = torch.randn(4, 4096, 2048, device="cuda", dtype=dtype, requires_grad=True)
    dy = torch.randn_like(x)

    def fwd():
        with torch.no_grad(), autocast:
            layer(x)

    def both():
        with autocast:
            y = layer(x)
        y.backward(dy)
        x.grad = None
        layer.zero_grad(set_to_none=True)

    print(f"  LightNet attention layer hidden 2048 H=16 d=128 B=4 T=4096 {mode}: forward {median_ms(fwd, reps):.2f} ms, "
          f"forward+backward {median_ms(both, reps):.2f} ms", flush=True)


def bench_lm(mode, reps):
    autocast, dtype = setup(mode)
    torch.manual_seed(0)
    model = CausalLM(32000, 1024, 12).cuda().to(dtype)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01, fused=True)
    ids = torch.randint(0, 32000, (8, 2048), device="cuda")
    last = [0.0]

    def step():
        with autocast:
            loss = model.loss(ids)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        last[0] = loss.item()

    ms = median_ms(step, reps)
    tokens = 8 * 2048
    print(f"  causal LM step {params / 1e6:.1f} M params B=8 T=2048 {mode}: {ms:.1f} ms/step, "
          f"{tokens / ms:.1f} k tokens/s, 6N.tokens = {6 * params * tokens / ms / 1e9:.1f} TFLOP/s, "
          f"last loss {last[0]:.3f}, peak memory {torch.cuda.max_memory_allocated() >> 20} MiB", flush=True)
    del model, opt
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="fp32,tf32,bf16-autocast,bf16-weights")
    ap.add_argument("--what", default="op,layer,lm")
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    for mode in a.modes.split(","):
        for what in a.what.split(","):
            {"op": bench_op, "layer": bench_layer, "lm": bench_lm}[what](mode, a.steps)


if __name__ == "__main__":
    main()
