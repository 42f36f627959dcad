// MD-TPE Toeplitz application by direct summation on x/y [B, L + N, c] and kernel [Π(2n_a − 1), c]
// (SPEC §3): Y_p = Σ_p' t_(p−p') ⊙ X_p' over grid tokens (leading L extra rows pass through), its
// correlation adjoint for dX and the kernel gradient. The kernel row of Δ = p − p' is kb[p] − go[p']
// (tables built on the host). Causal (1-D): only p' ≤ p. One thread per output element, fixed order.
typedef long long i64;

#define TPE_MAX_DIMS 8

struct TpeGrid
{
    i64 k;
    i64 n[TPE_MAX_DIMS];
};

// Row kernel shared by the forward and the dX adjoint: extra rows copied from src; grid row r becomes
// (residual ? src_r : 0) + Σ_u t_Δ src_u with Δ = r − u (forward, causal: u ≤ r) or Δ = u − r (adjoint,
// causal: u ≥ r).
template <typename T> __device__ void tpe_rows(const T* src, const T* kern, const int* kb, const int* go, T* dst, i64 batch, i64 l, i64 n, i64 c,
    i64 causal, i64 residual, bool adjoint)
{
    i64 s = l + n, total = batch * s * c;
    for (i64 idx = blockIdx.x * (i64)blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x)
    {
        i64 ch = idx % c, row = (idx / c) % s, b = idx / c / s;
        if (row < l) { dst[idx] = src[idx]; continue; }
        i64 r = row - l;
        const T* sb = src + (b * s + l) * c;
        T acc = residual ? sb[r * c + ch] : T(0);
        i64 lo = adjoint && causal ? r : 0, hi = !adjoint && causal ? r + 1 : n;
        for (i64 u = lo; u < hi; u++)
        {
            i64 f = adjoint ? (i64)(kb[u] - go[r]) : (i64)(kb[r] - go[u]);
            acc += kern[f * c + ch] * sb[u * c + ch];
        }
        dst[idx] = acc;
    }
}

// dkernel_Δ = Σ_b Σ_p dY_p ⊙ X_(p−Δ); 0 at causally masked offsets (Δ < 0).
template <typename T> __device__ void tpe_bwd_kernel(const T* x, const T* dy, T* dk, TpeGrid grid, i64 batch, i64 l, i64 n, i64 c, i64 offsets, i64 causal)
{
    for (i64 idx = blockIdx.x * (i64)blockDim.x + threadIdx.x; idx < offsets * c; idx += (i64)gridDim.x * blockDim.x)
    {
        i64 ch = idx % c, f = idx / c;
        i64 delta[TPE_MAX_DIMS];
        i64 rem = f;
        for (int a = (int)grid.k - 1; a >= 0; a--) { i64 kg = 2 * grid.n[a] - 1; delta[a] = rem % kg - (grid.n[a] - 1); rem /= kg; }
        T acc = T(0);
        if (!(causal && delta[0] < 0))
        {
            for (i64 b = 0; b < batch; b++)
            {
                const T* xb = x + (b * (l + n) + l) * c;
                const T* gb = dy + (b * (l + n) + l) * c;
                for (i64 p = 0; p < n; p++)
                {
                    i64 r = p, qlin = 0, stride = 1;
                    bool ok = true;
                    for (int a = (int)grid.k - 1; a >= 0; a--)
                    {
                        i64 pa = r % grid.n[a];
                        r /= grid.n[a];
                        i64 qa = pa - delta[a];
                        if (qa < 0 || qa >= grid.n[a]) { ok = false; break; }
                        qlin += qa * stride;
                        stride *= grid.n[a];
                    }
                    if (ok) acc += gb[p * c + ch] * xb[qlin * c + ch];
                }
            }
        }
        dk[idx] = acc;
    }
}

#define TPE(SN, T) \
    extern "C" __global__ void tpe_fwd_##SN(const T* x, const T* kern, const int* kb, const int* go, T* y, i64 b, i64 l, i64 n, i64 c, i64 causal, i64 residual) \
    { tpe_rows(x, kern, kb, go, y, b, l, n, c, causal, residual, false); } \
    extern "C" __global__ void tpe_bwd_x_##SN(const T* dy, const T* kern, const int* kb, const int* go, T* dx, i64 b, i64 l, i64 n, i64 c, i64 causal, i64 residual) \
    { tpe_rows(dy, kern, kb, go, dx, b, l, n, c, causal, residual, true); } \
    extern "C" __global__ void tpe_bwd_kernel_##SN(const T* x, const T* dy, T* dk, TpeGrid grid, i64 b, i64 l, i64 n, i64 c, i64 offsets, i64 causal) \
    { tpe_bwd_kernel(x, dy, dk, grid, b, l, n, c, offsets, causal); }

TPE(f32, float)
TPE(f64, double)
