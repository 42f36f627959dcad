// MD-LRPE expansion over contiguous x [rows, T, d] with angles [T, d]:
// y[r, t] = [x ⊙ cos Θ_t, x ⊙ sin Θ_t] (cos and sin in double, rounded to the element type), and its adjoint.
typedef long long i64;

template <typename T> __device__ void lrpe(const T* x, const T* ang, T* y, i64 rows, i64 t, i64 d)
{
    i64 total = rows * t * d;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < total; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % d, rt = q / d, ti = rt % t;
        double a = (double)ang[ti * d + i];
        T xv = x[q];
        y[rt * 2 * d + i] = xv * (T)cos(a);
        y[rt * 2 * d + d + i] = xv * (T)sin(a);
    }
}

template <typename T> __device__ void lrpe_bwd(const T* dy, const T* ang, T* dx, i64 rows, i64 t, i64 d)
{
    i64 total = rows * t * d;
    for (i64 q = blockIdx.x * (i64)blockDim.x + threadIdx.x; q < total; q += (i64)gridDim.x * blockDim.x)
    {
        i64 i = q % d, rt = q / d, ti = rt % t;
        double a = (double)ang[ti * d + i];
        dx[q] = dy[rt * 2 * d + i] * (T)cos(a) + dy[rt * 2 * d + d + i] * (T)sin(a);
    }
}

extern "C" __global__ void lrpe_f32(const float* x, const float* a, float* y, i64 rows, i64 t, i64 d) { lrpe(x, a, y, rows, t, d); }
extern "C" __global__ void lrpe_f64(const double* x, const double* a, double* y, i64 rows, i64 t, i64 d) { lrpe(x, a, y, rows, t, d); }
extern "C" __global__ void lrpe_bwd_f32(const float* dy, const float* a, float* dx, i64 rows, i64 t, i64 d) { lrpe_bwd(dy, a, dx, rows, t, d); }
extern "C" __global__ void lrpe_bwd_f64(const double* dy, const double* a, double* dx, i64 rows, i64 t, i64 d) { lrpe_bwd(dy, a, dx, rows, t, d); }
