#!/usr/bin/env python3
"""Independent float64 reference for fla's LightNetForCausalLM (golden kind `lightnet_lm`), small sizes.

Written with PyTorch (Debian's python3-torch is enough; no fla, no transformers), following the
`lightnet_lm_tiny` section of ../shared/golden/README.md:

  h = embed[ids]; per block h += Attn(RMSNorm(h)), h += MLP(RMSNorm(h)); logits = RMSNorm(h) W_lmᵀ;
  Attn: q = SiLU(x W_qᵀ), k = x W_kᵀ, v = x W_vᵀ, heads split head-major, the additive causal scan per head
        (Z_t = logcumsumexp_{s≤t} k_s, k̄_t = exp(k_t − Z_t), S_t = diag(exp(Z_{t−1} − Z_t)) S_{t−1} + k̄_t v_tᵀ,
        o_t = α S_tᵀ q_t, α = d^−½), heads merged, u = (x W_g0ᵀ) W_g1ᵀ,
        y = (RMSNorm_c(o) ⊙ g_norm.weight ⊙ SiLU(u)) W_oᵀ  (g_norm over all c features);
  MLP: down(SiLU(gate(x)) ⊙ up(x)), intermediate_size = 256·ceil(int(c·hidden_ratio·2/3)/256);
  every RMSNorm x / sqrt(mean(x²) + 1e-6) ⊙ w; no positional encoding;
  loss: mean cross-entropy of logits[:, t] against ids[:, t+1] over the B·(T−1) positions (HF shift).

The scan is computed by two algorithms in float64, the token-by-token recurrence and the masked quadratic
form o_t = α Σ_{s≤t} Σ_i q_ti exp(k_si − Z_ti) v_s; the whole model (logits, loss and every gradient) is run
with each, and the file records how closely they agree. It also records the worst tensor when the same code
runs in float32, and how much the logits move when attention is removed, the gate-norm eps is 1e-5 or α = 1.

Outputs, in OUT_DIR:
  lightnet_lm_small.safetensors  golden file in the layout of ../shared/golden/lightnet_lm_tiny.safetensors
      (metadata kind / config (fla's fields) / derived; input_ids I64, param/<fla state_dict name> F32 (the
      weights are float32 values), logits F64, loss F64 [], grad/<name> F64 = d(loss)/d<name>);
  fla_checkpoint_small/  the same weights as a Hugging Face checkpoint: config.json with fla's fields
      (json indent 2, sorted keys, as transformers writes it) and model.safetensors (F32, metadata
      {"format": "pt"}) in the byte layout of the safetensors library: keys sorted, compact JSON header,
      space padding to a multiple of 8, data in key order.

Init: Linear weights and the embedding N(0, 0.02²) (fla's init), RMSNorm weights 1 + N(0, 0.1²) (fla uses 1;
random here so that a mixed-up norm weight shows), all rounded to float32; input_ids uniform over the vocabulary.

usage: /usr/bin/python3 scripts/golden/make_lightnet_lm.py Tests/golden
       /usr/bin/python3 scripts/golden/make_lightnet_lm.py --check-layout HF_FILE.safetensors
           (re-writes an existing Hugging Face safetensors file with this script's writer and checks the bytes)
       /usr/bin/python3 scripts/golden/make_lightnet_lm.py --check-reference ../shared/golden/lightnet_lm_tiny.safetensors
           (runs this reference on the weights and ids of a lightnet_lm golden file made with fla and compares)
"""
import json
import math
import struct
import sys
from pathlib import Path

import torch

NAME = "lightnet_lm_small"
CHECKPOINT = "fla_checkpoint_small"
SEED = 301
BATCH, SEQ_LEN = 2, 67  # T > 64 so that a 64-token chunked scan has a partial second chunk

# fla's LightNetConfig fields, in the order of the shared file's metadata `config`.
CONFIG = {
    "hidden_size": 64, "num_hidden_layers": 2, "attn_mode": "chunk", "num_heads": None, "expand_ratio": 16,
    "use_short_conv": False, "gate_low_rank_dim": 8, "hidden_ratio": 4, "intermediate_size": None,
    "hidden_act": "swish", "elementwise_affine": True, "norm_eps": 1e-06, "vocab_size": 128,
    "tie_word_embeddings": False, "initializer_range": 0.02, "fuse_norm": True, "fuse_swiglu": True,
    "fuse_cross_entropy": False, "fuse_linear_cross_entropy": False, "use_l2warp": False, "attn": None,
    "attnres_block_size": None,
}

# config.json fields of a checkpoint as transformers writes fla's LightNetConfig (the shared fla_checkpoint_tiny).
HF_CONFIG_EXTRA = {
    "_name_or_path": "", "architectures": ["LightNetForCausalLM"], "bos_token_id": 1, "chunk_size_feed_forward": 0,
    "conv_size": 4, "dtype": "float32", "eos_token_id": 2, "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
    "is_encoder_decoder": False, "label2id": {"LABEL_0": 0, "LABEL_1": 1}, "max_position_embeddings": 2048,
    "model_type": "lightnet", "output_attentions": False, "output_hidden_states": False, "pad_token_id": None,
    "problem_type": None, "return_dict": True, "transformers_version": "5.17.0", "use_cache": True,
}

ST_DTYPES = {torch.float64: ("F64", "<f8"), torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def derived(cfg):
    c = cfg["hidden_size"]
    d = cfg["expand_ratio"]
    h = c // d
    inter = 256 * math.ceil(int(c * cfg["hidden_ratio"] * 2 / 3) / 256)
    return {"num_heads": h, "expand_ratio": d, "head_k_dim": d, "head_v_dim": c // h, "key_dim": h * d,
            "intermediate_size": inter, "norm_eps": cfg["norm_eps"], "attn_gate_norm_eps": 1e-06,
            "attn_scale": d ** -0.5}


def param_shapes(cfg, der):
    """fla's state_dict names and shapes, in module order."""
    c, v, r, inter, kd = cfg["hidden_size"], cfg["vocab_size"], cfg["gate_low_rank_dim"], der["intermediate_size"], der["key_dim"]
    shapes = {"model.embeddings.weight": [v, c]}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "attn_norm.weight": [c], p + "attn.q_proj.weight": [kd, c], p + "attn.k_proj.weight": [kd, c],
            p + "attn.v_proj.weight": [c, c], p + "attn.g_proj.0.weight": [r, c], p + "attn.g_proj.1.weight": [c, r],
            p + "attn.g_norm.weight": [c], p + "attn.o_proj.weight": [c, c], p + "mlp_norm.weight": [c],
            p + "mlp.gate_proj.weight": [inter, c], p + "mlp.up_proj.weight": [inter, c],
            p + "mlp.down_proj.weight": [c, inter],
        })
    shapes.update({"model.norm.weight": [c], "lm_head.weight": [v, c]})
    return shapes


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def scan_recurrent(q, k, v, alpha):
    """S_t = diag(exp(g_t)) S_{t−1} + k̄_t v_tᵀ, o_t = α S_tᵀ q_t; q, k [B,H,T,d], v [B,H,T,e]."""
    b, h, t, d = q.shape
    z = torch.logcumsumexp(k, dim=2)
    s = torch.zeros(b, h, d, v.shape[-1], dtype=q.dtype)
    out = []
    for i in range(t):
        g = (z[:, :, i - 1] - z[:, :, i]) if i > 0 else torch.zeros(b, h, d, dtype=q.dtype)
        kb = torch.exp(k[:, :, i] - z[:, :, i])
        s = torch.exp(g).unsqueeze(-1) * s + kb.unsqueeze(-1) * v[:, :, i].unsqueeze(-2)
        out.append(alpha * torch.einsum("bhde,bhd->bhe", s, q[:, :, i]))
    return torch.stack(out, dim=2)


def scan_quadratic(q, k, v, alpha):
    """o_t = α Σ_{s≤t} Σ_i q_ti exp(k_si − Z_ti) v_s (the exponent masked to −∞ for s > t)."""
    t = q.shape[2]
    z = torch.logcumsumexp(k, dim=2)
    expo = k.unsqueeze(2) - z.unsqueeze(3)                       # [B,H,t,s,d]
    future = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    w = torch.exp(expo.masked_fill(future[:, :, None], float("-inf")))
    a = torch.einsum("bhti,bhtsi->bhts", q, w)
    return alpha * a @ v


def attention(x, p, pre, der, scan, alpha, gate_eps):
    b, t, c = x.shape
    h = der["num_heads"]

    def heads(y):
        return y.view(b, t, h, -1).transpose(1, 2)

    q = heads(torch.nn.functional.silu(x @ p[pre + "q_proj.weight"].T))
    k = heads(x @ p[pre + "k_proj.weight"].T)
    v = heads(x @ p[pre + "v_proj.weight"].T)
    o = scan(q, k, v, alpha).transpose(1, 2).reshape(b, t, c)
    u = (x @ p[pre + "g_proj.0.weight"].T) @ p[pre + "g_proj.1.weight"].T
    return (rmsnorm(o, p[pre + "g_norm.weight"], gate_eps) * torch.nn.functional.silu(u)) @ p[pre + "o_proj.weight"].T


def forward(ids, p, cfg, der, scan, alpha=None, gate_eps=None, drop_attention=False):
    alpha = der["attn_scale"] if alpha is None else alpha
    gate_eps = der["attn_gate_norm_eps"] if gate_eps is None else gate_eps
    eps = cfg["norm_eps"]
    h = p["model.embeddings.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        if not drop_attention:
            h = h + attention(rmsnorm(h, p[pre + "attn_norm.weight"], eps), p, pre + "attn.", der, scan, alpha, gate_eps)
        x = rmsnorm(h, p[pre + "mlp_norm.weight"], eps)
        mlp = torch.nn.functional.silu(x @ p[pre + "mlp.gate_proj.weight"].T) * (x @ p[pre + "mlp.up_proj.weight"].T)
        h = h + mlp @ p[pre + "mlp.down_proj.weight"].T
    logits = rmsnorm(h, p["model.norm.weight"], eps) @ p["lm_head.weight"].T
    v = logits.shape[-1]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), ids[:, 1:].reshape(-1))
    return logits, loss


def run(ids, params, cfg, der, scan, dtype):
    """logits, loss and d(loss)/d<name> for every parameter, computed in dtype."""
    p = {n: w.detach().to(dtype).requires_grad_() for n, w in params.items()}
    logits, loss = forward(ids, p, cfg, der, scan)
    grads = torch.autograd.grad(loss, list(p.values()))
    out = {"logits": logits.detach(), "loss": loss.detach()}
    out.update({"grad/" + n: g for n, g in zip(p, grads)})
    return out


def rel(a, ref):
    a, ref = a.double(), ref.double()
    m = ref.abs().max().item()
    d = (a - ref).abs().max().item()
    return d / m if m > 0 else d


def worst(results, reference):
    return max((rel(results[n], reference[n]), n) for n in reference)


def safetensors_bytes(tensors, metadata, sort_keys):
    """A safetensors file: 8-byte header length, compact JSON header padded with spaces to a multiple of 8, data.

    sort_keys=True gives the layout of the safetensors library (Hugging Face's save_file / save_pretrained):
    tensors sorted by name (all of one dtype here), data in that order."""
    names = sorted(tensors) if sort_keys else list(tensors)
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in names:
        t = tensors[name].detach().contiguous()
        st, np_dtype = ST_DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": st, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def read_safetensors(path):
    import numpy as np
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    by_name = {st: (dt, np_dtype) for dt, (st, np_dtype) in ST_DTYPES.items()}
    tensors = {}
    for name, info in header.items():
        dt, np_dtype = by_name[info["dtype"]]
        s, e = info["data_offsets"]
        arr = np.frombuffer(b[8 + n + s:8 + n + e], dtype=np_dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy()).to(dt)
    return b, tensors, meta


def check_layout(path):
    original, tensors, meta = read_safetensors(path)
    same = safetensors_bytes(tensors, meta, sort_keys=True) == original
    print(f"{path}: re-written with this script's writer, {'byte-identical' if same else 'DIFFERENT'}")
    return 0 if same else 1


def check_reference(path):
    """Runs this reference on another lightnet_lm golden file (e.g. the shared lightnet_lm_tiny, checked against fla)."""
    _, tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["config"])
    der = derived(cfg)
    params = {n[len("param/"):]: t.double() for n, t in tensors.items() if n.startswith("param/")}
    ours = run(tensors["input_ids"], params, cfg, der, scan_quadratic, torch.float64)
    err, name = worst(ours, {n: tensors[n].double() for n in ours})
    ok = err <= 1e-6   # the shared file stores its gradients as F32
    print(f"{path}: this reference's worst tensor {err:.2e} ({name}), {'agrees' if ok else 'DISAGREES'}")
    return 0 if ok else 1


def make(out_dir):
    out_dir = Path(out_dir)
    cfg, der = CONFIG, derived(CONFIG)
    g = torch.Generator().manual_seed(SEED)
    params = {}
    for name, shape in param_shapes(cfg, der).items():
        w = torch.randn(*shape, generator=g, dtype=torch.float64)
        w = 1 + 0.1 * w if name.endswith("norm.weight") else cfg["initializer_range"] * w
        params[name] = w.float().double()   # float32 values, exact in both F32 and F64
    ids = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ_LEN), generator=g, dtype=torch.int64)

    ref = run(ids, params, cfg, der, scan_quadratic, torch.float64)
    alt = run(ids, params, cfg, der, scan_recurrent, torch.float64)
    consistency, consistency_tensor = worst(alt, ref)
    f32 = max(worst(run(ids, params, cfg, der, scan_quadratic, torch.float32), ref) + ("quadratic",),
              worst(run(ids, params, cfg, der, scan_recurrent, torch.float32), ref) + ("recurrent",))

    with torch.no_grad():
        sens = {}
        for key, kw in [("attention_removed", dict(drop_attention=True)), ("gate_norm_eps_1e-5", dict(gate_eps=1e-5)),
                        ("attn_scale_1", dict(alpha=1.0))]:
            lg, ls = forward(ids, params, cfg, der, scan_quadratic, **kw)
            sens[key] = {"logits": float(f"{rel(lg, ref['logits']):.3g}"), "loss": float(f"{rel(ls, ref['loss']):.3g}")}

    tensors = {"input_ids": ids}
    tensors.update({"param/" + n: w.float() for n, w in params.items()})
    tensors.update({"logits": ref["logits"], "loss": ref["loss"]})
    tensors.update({"grad/" + n: ref["grad/" + n] for n in params})
    meta = {
        "format": "lightnet golden v1; float64 (ids int64, weights F32); fla LightNetForCausalLM; grads are d(loss)/dparam",
        "kind": "lightnet_lm",
        "name": NAME,
        "init": "Linear weights and embedding N(0, 0.02^2), RMSNorm weights 1 + N(0, 0.1^2), all rounded to float32; "
                "input_ids uniform over the vocabulary; torch.Generator seeded with `seed`",
        "config": json.dumps(cfg),
        "derived": json.dumps(der),
        "batch": str(BATCH),
        "seq_len": str(SEQ_LEN),
        "seed": str(SEED),
        "loss_convention": "labels[b,t]=input_ids[b,t+1] for t<T-1, last position ignored; mean over B*(T-1)",
        "gradients": "grad/<name> = d(loss)/d<name> for every parameter",
        "self_consistency_check": "whole model (logits, loss, every grad) with the token-by-token recurrent scan vs the masked quadratic scan",
        "recurrent_vs_quadratic_max_rel_err": repr(consistency),
        "self_consistency_max_rel_err": f"{consistency:.3e} ({consistency_tensor})",
        "float32_torch_max_rel_err": f"{f32[0]:.3e} ({f32[1]}, {f32[2]} scan)",
        "sensitivity": json.dumps(sens),
        "storage": "param/ stored as F32 (the weights are float32 values); logits, loss and grad/ F64; input_ids I64",
        "tolerance": "1e-4 relative for float32 implementations (per tensor: max|a - ref| / max|ref|); 1e-10 for float64",
        "checkpoint": f"{CHECKPOINT}/ holds the same weights as a Hugging Face fla checkpoint",
        "notes": "made by scripts/golden/make_lightnet_lm.py (PyTorch float64), independent of the engine and of fla",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{NAME}.safetensors"
    path.write_bytes(safetensors_bytes(tensors, meta, sort_keys=False))

    ckpt = out_dir / CHECKPOINT
    ckpt.mkdir(exist_ok=True)
    hf = dict(HF_CONFIG_EXTRA)
    hf.update(cfg)
    (ckpt / "config.json").write_text(json.dumps(hf, indent=2, sort_keys=True))
    (ckpt / "model.safetensors").write_bytes(
        safetensors_bytes({n: w.float() for n, w in params.items()}, {"format": "pt"}, sort_keys=True))

    print(f"{path}: {sum(w.numel() for w in params.values())} parameters, input_ids {list(ids.shape)}, loss {ref['loss'].item():.6f}")
    print(f"  recurrent vs quadratic: {consistency:.2e} ({consistency_tensor}); float32 worst {f32[0]:.2e} ({f32[1]}, {f32[2]})")
    print(f"  sensitivity: {json.dumps(sens)}")
    print(f"{ckpt}/: config.json, model.safetensors")


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "--check-layout":
        sys.exit(check_layout(sys.argv[2]))
    if len(sys.argv) == 3 and sys.argv[1] == "--check-reference":
        sys.exit(check_reference(sys.argv[2]))
    make(sys.argv[1] if len(sys.argv) > 1 else ".")
