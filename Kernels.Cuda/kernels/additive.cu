// Causal additive (LightNet) attention pieces around the gated recurrence (gated.cu), on k [N, T, d]
// with an optional running normaliser Z0 [N, d]: one thread per (n, feature i), sequential over t.
//   Z_t = log(exp(Z_{t−1}) + exp(k_t)) (Z_{−1} = Z0, or −∞ without it; running-max form),
//   k̄_t = exp(k_t − Z_t),  g_t = Z_{t−1} − Z_t  (g_0 = 0 without Z0).
// The backward turns dk̄, dg (from the gated backward) into dk and dZ0:
//   dZ_t = −k̄_t dk̄_t − dg_t [t > 0 or Z0] + dg_{t+1} [t + 1 < T],  W_t = dZ_t + exp(g_{t+1}) W_{t+1},
//   dk_t = k̄_t (dk̄_t + W_t),  dZ0 = exp(g_0) W_0 + dg_0.
typedef long long i64;

#define NEG_INF (-(double)__int_as_float(0x7f800000))

template <typename T> __device__ void additive_prep(const T* k, const T* z0, T* kbar, T* g, T* zT, i64 n_seq, i64 t_len, i64 d)
{
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < n_seq * d; q += (i64)gridDim.x * blockDim.x)
    {
        i64 n = q / d, i = q % d;
        double m = z0 ? (double)z0[q] : NEG_INF, s = z0 ? 1.0 : 0.0;
        double zprev = m;
        for (i64 t = 0; t < t_len; t++)
        {
            i64 at = (n * t_len + t) * d + i;
            double kv = (double)k[at];
            if (kv == NEG_INF) { }
            else if (kv > m) { s = s * exp(m - kv) + 1.0; m = kv; }
            else s += exp(kv - m);
            double z = m == NEG_INF ? m : m + log(s);
            kbar[at] = (T)(z == NEG_INF ? 0.0 : exp(kv - z));
            g[at] = (T)((t == 0 && !z0) || z == NEG_INF ? 0.0 : zprev - z);
            zprev = z;
        }
        zT[q] = (T)zprev;
    }
}

template <typename T> __device__ void additive_dk(const T* kbar, const T* g, const T* dkbar, const T* dg, bool has_z0, T* dk, T* dz0, i64 n_seq, i64 t_len, i64 d)
{
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < n_seq * d; q += (i64)gridDim.x * blockDim.x)
    {
        i64 n = q / d, i = q % d;
        T w = T(0);
        for (i64 t = t_len - 1; t >= 0; t--)
        {
            i64 at = (n * t_len + t) * d + i;
            T dz = -kbar[at] * dkbar[at];
            if (t > 0 || has_z0) dz -= dg[at];
            if (t + 1 < t_len) { dz += dg[at + d]; w = dz + exp(g[at + d]) * w; }
            else w = dz;
            dk[at] = kbar[at] * (dkbar[at] + w);
        }
        if (dz0) { i64 a0 = n * t_len * d + i; dz0[q] = exp(g[a0]) * w + dg[a0]; }
    }
}

#define ADDITIVE(SN, T) \
    extern "C" __global__ void additive_prep_##SN(const T* k, const T* z0, T* kbar, T* g, T* zT, i64 n, i64 t, i64 d) { additive_prep(k, z0, kbar, g, zT, n, t, d); } \
    extern "C" __global__ void additive_dk_##SN(const T* kbar, const T* g, const T* dkbar, const T* dg, i64 has_z0, T* dk, T* dz0, i64 n, i64 t, i64 d) \
    { additive_dk(kbar, g, dkbar, dg, has_z0 != 0, dk, dz0, n, t, d); }

ADDITIVE(f32, float)
ADDITIVE(f64, double)
