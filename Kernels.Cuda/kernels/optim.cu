// Fused optimizer updates over contiguous parameter, gradient and state (same formulas and rounding
// order as the CPU kernels; the host passes the per-step scalars).
typedef long long i64;

// m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p = p·decay − step·m / (√v·invSqrtBc2 + eps)
template <typename T> __device__ void adamw(T* p, const T* g, T* m, T* v, i64 n, double b1d, double b2d, double stepd, double isbd, double epsd, double decayd)
{
    T b1 = (T)b1d, b2 = (T)b2d, c1 = T(1) - b1, c2 = T(1) - b2, step = (T)stepd, isb = (T)isbd, eps = (T)epsd, decay = (T)decayd;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        T gi = g[i];
        T mi = b1 * m[i] + c1 * gi;
        T vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrt(vi) * isb + eps);
    }
}

// d = g + wd·p; with a momentum buffer b: d = mu·b + d, b = d; p −= lr·d
template <typename T> __device__ void sgd(T* p, const T* g, T* b, i64 n, double lr, double mu, double wd)
{
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x)
    {
        T d = g[i] + (T)wd * p[i];
        if (b) { d = (T)mu * b[i] + d; b[i] = d; }
        p[i] -= (T)lr * d;
    }
}

extern "C" __global__ void adamw_f32(float* p, const float* g, float* m, float* v, i64 n, double b1, double b2, double step, double isb, double eps, double decay)
{ adamw(p, g, m, v, n, b1, b2, step, isb, eps, decay); }
extern "C" __global__ void adamw_f64(double* p, const double* g, double* m, double* v, i64 n, double b1, double b2, double step, double isb, double eps, double decay)
{ adamw(p, g, m, v, n, b1, b2, step, isb, eps, decay); }
extern "C" __global__ void sgd_f32(float* p, const float* g, float* b, i64 n, double lr, double mu, double wd) { sgd(p, g, b, n, lr, mu, wd); }
extern "C" __global__ void sgd_f64(double* p, const double* g, double* b, i64 n, double lr, double mu, double wd) { sgd(p, g, b, n, lr, mu, wd); }
