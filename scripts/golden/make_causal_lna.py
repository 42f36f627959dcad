#!/usr/bin/env python3
"""Independent float64 reference for the causal LightNet attention layer with 1-D MD-LRPE (kind `lna`).

Written with PyTorch (Debian's python3-torch is enough), in the layout of ../shared/golden's `attn_*` files:
inputs x, dout; parameters param/<name>; outputs out, aux/attn_o, angles; gradients grad/<name> of
sum(out * dout). The attention is computed by two algorithms in float64, the quadratic form over (t, s, i) and the
token-by-token recurrence with the state doubled to 2d; the file records how closely they agree.

usage: /usr/bin/python3 scripts/golden/make_causal_lna.py OUT_DIR
"""
import json
import math
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)

CASES = [
    dict(name="attn_causal_lrpe_1d_small", hidden_size=16, num_heads=2, expand_ratio=8, gate_low_rank_dim=4,
         attn_scale=1 / math.sqrt(8), lrpe_grid=[12], lrpe_n_extra=0, batch=2, seed=201),
    dict(name="attn_causal_lrpe_1d_extra", hidden_size=24, num_heads=3, expand_ratio=6, gate_low_rank_dim=5,
         attn_scale=1.0, lrpe_grid=[13], lrpe_n_extra=1, batch=3, seed=202),
]


def angles_1d(grid, n_extra, d, base=10000.0):
    """Θ [T, d]: extra tokens 0, then position p·θ_(j mod m), m = d for k = 1."""
    m = d
    theta = torch.tensor([base ** (-r / m) for r in range(m)])
    t = n_extra + grid[0]
    a = torch.zeros(t, d)
    for i in range(n_extra, t):
        a[i] = (i - n_extra) * theta
    return a


def lrpe(x, ang):
    return torch.cat([x * torch.cos(ang), x * torch.sin(ang)], dim=-1)


def attention_quadratic(q, k, v, ang, alpha):
    """o_t = α Σ_{s≤t} Σ_i q_ti e^{k_si − Z_ti} cos(θ_ti − θ_si) v_s  (q, k [B,H,T,d], v [B,H,T,e])."""
    z = torch.logcumsumexp(k, dim=2)
    w = torch.exp(k.unsqueeze(2) - z.unsqueeze(3))          # [B,H,t,s,d]
    c = torch.cos(ang.unsqueeze(1) - ang.unsqueeze(0))       # [t,s,d]
    a = torch.einsum("bhti,bhtsi,tsi->bhts", q, w, c)
    t = q.shape[2]
    a = a * torch.tril(torch.ones(t, t))
    return alpha * a @ v


def attention_recurrent(q, k, v, ang, alpha):
    """S_t = diag(e^{g_t}) S_{t−1} + φ(k̄_t) v_tᵀ with the decay tiled over both halves, o_t = α S_tᵀ φ(q_t)."""
    b, h, t, d = q.shape
    e = v.shape[-1]
    z = torch.logcumsumexp(k, dim=2)
    s = torch.zeros(b, h, 2 * d, e)
    out = []
    for i in range(t):
        g = (z[:, :, i - 1] - z[:, :, i]) if i > 0 else torch.zeros(b, h, d)
        lam = torch.exp(torch.cat([g, g], dim=-1)).unsqueeze(-1)
        kb = torch.exp(k[:, :, i] - z[:, :, i])
        s = lam * s + lrpe(kb, ang[i]).unsqueeze(-1) * v[:, :, i].unsqueeze(-2)
        out.append(alpha * torch.einsum("bhde,bhd->bhe", s, lrpe(q[:, :, i], ang[i])))
    return torch.stack(out, dim=2)


def layer(x, p, cfg, ang, attention):
    b, t, c = x.shape
    h, d = cfg["num_heads"], cfg["expand_ratio"]

    def heads(y):
        return y.view(b, t, h, -1).transpose(1, 2)

    q = heads(torch.nn.functional.silu(x @ p["q_proj.weight"].T))
    k = heads(x @ p["k_proj.weight"].T)
    v = heads(x @ p["v_proj.weight"].T)
    o = attention(q, k, v, ang, cfg["attn_scale"]).transpose(1, 2).reshape(b, t, c)
    u = (x @ p["g_proj.0.weight"].T) @ p["g_proj.1.weight"].T
    normed = o * torch.rsqrt(o.pow(2).mean(-1, keepdim=True) + 1e-6) * p["g_norm.weight"]
    return (normed * torch.nn.functional.silu(u)) @ p["o_proj.weight"].T, o


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def make(case, out_dir):
    g = torch.Generator().manual_seed(case["seed"])
    c, h, d, r = case["hidden_size"], case["num_heads"], case["expand_ratio"], case["gate_low_rank_dim"]
    t = case["lrpe_n_extra"] + math.prod(case["lrpe_grid"])
    cfg = dict(hidden_size=c, num_heads=h, expand_ratio=d, head_k_dim=d, head_v_dim=c // h, gate_low_rank_dim=r,
               attn_scale=case["attn_scale"], causal=True, lrpe=True, lrpe_grid=case["lrpe_grid"],
               lrpe_n_extra=case["lrpe_n_extra"], lrpe_base=10000.0, norm_eps=1e-6, batch=case["batch"], seq_len=t,
               seed=case["seed"])
    shapes = {"q_proj.weight": [h * d, c], "k_proj.weight": [h * d, c], "v_proj.weight": [c, c],
              "g_proj.0.weight": [r, c], "g_proj.1.weight": [c, r], "g_norm.weight": [c], "o_proj.weight": [c, c]}
    params = {}
    for name, shape in shapes.items():
        w = torch.randn(*shape, generator=g)
        params[name] = (1 + 0.1 * w if name == "g_norm.weight" else 0.02 * w).requires_grad_()
    # Keys at full strength (the layer is tested as an op): a larger k_proj makes Z and the decays matter.
    with torch.no_grad():
        params["k_proj.weight"].mul_(25.0)
        params["q_proj.weight"].mul_(25.0)
    x = torch.randn(case["batch"], t, c, generator=g).requires_grad_()
    dout = torch.randn(case["batch"], t, c, generator=g)
    ang = angles_1d(case["lrpe_grid"], case["lrpe_n_extra"], d)
    out, attn_o = layer(x, params, cfg, ang, attention_quadratic)
    (out * dout).sum().backward()
    with torch.no_grad():
        out2, _ = layer(x, params, cfg, ang, attention_recurrent)
        consistency = ((out2 - out).abs().max() / out.abs().max()).item()
    tensors = {"x": x, "dout": dout}
    tensors.update({f"param/{n}": p for n, p in params.items()})
    tensors.update({"out": out, "aux/attn_o": attn_o, "angles": ang, "grad/x": x.grad})
    tensors.update({f"grad/{n}": p.grad for n, p in params.items()})
    meta = {"format": "lightnet golden v1; float64", "kind": "lna", "name": case["name"], "config": json.dumps(cfg),
            "seed": str(case["seed"]), "gradients": "grad/<name> = d(sum(out * dout))/d<name> for x and every parameter",
            "init": "Linear weights N(0, 0.02^2), q_proj and k_proj then scaled by 25; g_norm 1 + N(0, 0.1^2); x, dout N(0, 1)",
            "tolerance": "1e-4 relative for float32 implementations (per tensor: max|a - ref| / max|ref|); 1e-10 for float64",
            "self_consistency_check": "quadratic (t, s, i) form vs token-by-token recurrence with the 2d state",
            "self_consistency_max_rel_err": f"{consistency:.3e}",
            "notes": "made by scripts/golden/make_causal_lna.py (PyTorch float64), independent of the engine"}
    path = f"{out_dir}/{case['name']}.safetensors"
    save_safetensors(path, tensors, meta)
    print(f"{path}: T={t}, self-consistency {consistency:.2e}")


if __name__ == "__main__":
    for case in CASES:
        make(case, sys.argv[1] if len(sys.argv) > 1 else ".")
