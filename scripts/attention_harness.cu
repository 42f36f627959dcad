// Standalone timing/parity harness for the additive attention kernels on a GPU machine without .NET: loads
// gated.ptx and additive.ptx through the driver API like the engine and launches them with the grids and shared
// memory of CudaBackend.Attention.cs (additive forward + backward, no s0 / z0).
// Build: nvcc -O2 -o harness scripts/attention_harness.cu -lcuda
// Usage: harness REF_DIR NEW_DIR          parity (float64 reference, fp32, TF32, new against ref) on B·H = 128, T = 4096,
//                                         d = e = 128 and on N = 3, T = 1000, d = 96, e = 72 with keys N(0, 10²), and
//                                         forward / forward + backward / per-kernel times on the first shape
//        harness DIR DIR time             per-kernel times of one PTX set only
// Each DIR holds gated.ptx and additive.ptx (scripts/ptx.sh output). REF_OLD_SCAN=1 launches REF_DIR's gated_scan
// with the shared memory of the scan before cp.async staging (commit 849e9ce and earlier).
#include <cuda.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <string>
#include <map>
typedef long long i64;
#define CK(x) do { CUresult r_ = (x); if (r_ != CUDA_SUCCESS) { const char* s_; cuGetErrorName(r_, &s_); printf("CUDA error %s at %s:%d\n", s_, __FILE__, __LINE__); exit(1); } } while (0)

static int SMS = 132;
struct Mods { CUmodule gated, additive; bool isNew; std::string name; };
static std::string readFile(const std::string& p) { FILE* f = fopen(p.c_str(), "rb"); if (!f) { printf("no %s\n", p.c_str()); exit(1); } std::string s; char b[65536]; size_t n; while ((n = fread(b, 1, sizeof b, f)) > 0) s.append(b, n); fclose(f); return s; }
static CUmodule loadMod(const std::string& p) { std::string s = readFile(p); CUmodule m; CK(cuModuleLoadData(&m, s.c_str())); return m; }
static CUfunction fn(CUmodule m, const std::string& name) { CUfunction f; CUresult r = cuModuleGetFunction(&f, m, name.c_str()); if (r != CUDA_SUCCESS) { printf("no kernel %s\n", name.c_str()); exit(1); } return f; }

// per-kernel timing
static bool g_time = false;
static std::map<std::string, double> g_ms;
static std::vector<std::string> g_order;
template <typename... A> static void launch(CUfunction f, const char* tag, unsigned gx, unsigned gy, unsigned gz, unsigned smem, A... args)
{
    void* p[] = { (void*)&args... };
    if (smem > 48 * 1024) CK(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
    CUevent e0, e1;
    if (g_time) { CK(cuEventCreate(&e0, 0)); CK(cuEventCreate(&e1, 0)); CK(cuEventRecord(e0, 0)); }
    CK(cuLaunchKernel(f, gx, gy, gz, 256, 1, 1, smem, 0, p, nullptr));
    if (g_time)
    {
        CK(cuEventRecord(e1, 0)); CK(cuEventSynchronize(e1));
        float ms; CK(cuEventElapsedTime(&ms, e0, e1));
        if (!g_ms.count(tag)) g_order.push_back(tag);
        g_ms[tag] += ms;
        cuEventDestroy(e0); cuEventDestroy(e1);
    }
}
static unsigned blocks(i64 n) { i64 b = (n + 255) / 256; if (b < 1) b = 1; if (b > (i64)SMS * 32) b = SMS * 32; return (unsigned)b; }

struct Shape { int N, T, d, e; double kscale; };
struct Bufs
{
    int es; // element size
    CUdeviceptr q, k, v, dO, o, sT, zT, dq, dk, dv;
    CUdeviceptr kbar, G, flag, lse, zref, h, dh, fin, zT2, dkbar, wloc, carry, tot;
};
static CUdeviceptr alloc(size_t b) { CUdeviceptr p; CK(cuMemAlloc(&p, b < 8 ? 8 : b)); return p; }

static Bufs makeBufs(const Shape& s, int es, const std::vector<double>& hq, const std::vector<double>& hk, const std::vector<double>& hv, const std::vector<double>& hdo)
{
    Bufs b; b.es = es;
    i64 C = (s.T + 63) / 64;
    size_t kd = (size_t)s.N * s.T * s.d * es, ke = (size_t)s.N * s.T * s.e * es, st = (size_t)s.N * C * s.d * s.e * es, fe = (size_t)s.N * s.d * s.e * es;
    auto up = [&](const std::vector<double>& h, size_t bytes) {
        CUdeviceptr p = alloc(bytes);
        if (es == 8) CK(cuMemcpyHtoD(p, h.data(), bytes));
        else { std::vector<float> f(h.size()); for (size_t i = 0; i < h.size(); i++) f[i] = (float)h[i]; CK(cuMemcpyHtoD(p, f.data(), bytes)); }
        return p;
    };
    b.q = up(hq, kd); b.k = up(hk, kd); b.v = up(hv, ke); b.dO = up(hdo, ke);
    b.o = alloc(ke); b.sT = alloc(fe); b.zT = alloc((size_t)s.N * s.d * es); b.zT2 = alloc((size_t)s.N * s.d * es);
    b.dq = alloc(kd); b.dk = alloc(kd); b.dv = alloc(ke);
    b.kbar = alloc(kd); b.G = alloc(kd); b.flag = alloc(4 * s.N * C); b.lse = alloc(8 * s.N * C * s.d); b.zref = alloc(8 * s.N * C * s.d);
    b.h = alloc(st); b.dh = alloc(st); b.fin = alloc(fe); b.dkbar = alloc(kd); b.wloc = alloc((size_t)s.N * C * s.d * es); b.carry = alloc((size_t)s.N * C * s.d * es);
    b.tot = alloc((size_t)s.N * (C + 1) * s.d * es);
    return b;
}

static const int LDT = 68, LDS = 36;
static unsigned scanSmem(const Mods& m, int es)
{
    static bool refOld = getenv("REF_OLD_SCAN") && !strcmp(getenv("REF_OLD_SCAN"), "1");
    return !m.isNew && refOld ? (2 * 32 * LDT + 64) * es : 2 * (3 * 32 * LDT + 64) * es;
}
static unsigned outSmem(const Mods& m, int es) { return (64 * LDT + 2 * 64 * LDS) * es; }
static unsigned bwdSmem(const Mods& m, int es) { return (3 * 64 * LDT + 2 * 64 * LDS) * es; }

static void prep(const Mods& m, const Shape& s, Bufs& b, const char* p, CUdeviceptr zT)
{
    i64 N = s.N, T = s.T, d = s.d, C = (T + 63) / 64;
    CK(cuMemsetD32Async(b.flag, 1, N * C, 0));
    CUdeviceptr z0 = 0;
    launch(fn(m.additive, std::string("additive_lse_") + p), "lse", blocks(N * C * d), 1, 1, 0, b.k, b.lse, N, T, d, C);
    launch(fn(m.additive, std::string("additive_zref_") + p), "zref", blocks(N * d), 1, 1, 0, z0, b.lse, b.zref, N, d, C);
    launch(fn(m.additive, std::string("additive_prep_") + p), "prep", blocks(N * C * d), 1, 1, 0, b.k, b.zref, b.kbar, b.G, b.flag, zT, (i64)0, N, T, d, C);
}
static void scan(const Mods& m, const Shape& s, Bufs& b, const char* sn, CUdeviceptr x, CUdeviceptr y, double scale, CUdeviceptr states, CUdeviceptr fin, bool rev)
{
    i64 N = s.N, T = s.T, d = s.d, e = s.e, C = (T + 63) / 64;
    CUdeviceptr init = 0;
    launch(fn(m.gated, std::string("gated_scan_") + sn), rev ? "scan_rev" : "scan_fwd", (e + 63) / 64, (d + 63) / 64, N, scanSmem(m, b.es), x, y, b.G, scale, init, states, fin, T, d, e, C, (i64)(rev ? 1 : 0));
}
static void forward(const Mods& m, const Shape& s, Bufs& b, const char* sn, double scale)
{
    const char* p = b.es == 8 ? "f64" : "f32";
    i64 N = s.N, T = s.T, d = s.d, e = s.e, C = (T + 63) / 64;
    prep(m, s, b, p, b.zT);
    scan(m, s, b, sn, b.kbar, b.v, scale, b.h, b.sT, false);
    launch(fn(m.gated, std::string("gated_out_") + sn), "out", C, N, 1, outSmem(m, b.es), b.q, b.kbar, b.v, b.G, b.flag, b.h, b.o, scale, T, d, e, C);
}
static void backward(const Mods& m, const Shape& s, Bufs& b, const char* sn, double scale)
{
    const char* p = b.es == 8 ? "f64" : "f32";
    i64 N = s.N, T = s.T, d = s.d, e = s.e, C = (T + 63) / 64;
    CUdeviceptr nul = 0;
    prep(m, s, b, p, b.zT2);
    scan(m, s, b, sn, b.kbar, b.v, scale, b.h, b.fin, false);
    scan(m, s, b, sn, b.q, b.dO, scale, b.dh, nul, true);
    launch(fn(m.gated, std::string("gated_bwd_") + sn), "bwd", C, N, 1, bwdSmem(m, b.es), b.q, b.kbar, b.v, b.G, b.flag, b.h, b.dh, b.dO, nul, b.fin,
        b.dq, b.dkbar, b.dv, nul, b.tot, scale, T, d, e, C);
    launch(fn(m.additive, std::string("additive_w_local_") + p), "w_local", blocks(N * C * d), 1, 1, 0, b.q, b.dq, b.G, b.wloc, b.carry, N, T, d, C);
    launch(fn(m.additive, std::string("additive_dk_") + p), "dk", blocks(N * C * d), 1, 1, 0, b.q, b.dq, b.kbar, b.G, b.dkbar, b.wloc, b.carry, nul, nul, b.dk, nul, N, T, d, e, C);
}

static std::vector<double> down(CUdeviceptr p, size_t n, int es)
{
    std::vector<double> r(n);
    if (es == 8) CK(cuMemcpyDtoH(r.data(), p, n * 8));
    else { std::vector<float> f(n); CK(cuMemcpyDtoH(f.data(), p, n * 4)); for (size_t i = 0; i < n; i++) r[i] = f[i]; }
    return r;
}
struct Out { std::vector<double> o, sT, dq, dk, dv; };
static Out fetch(const Shape& s, Bufs& b)
{
    size_t kd = (size_t)s.N * s.T * s.d, ke = (size_t)s.N * s.T * s.e, fe = (size_t)s.N * s.d * s.e;
    CK(cuCtxSynchronize());
    return { down(b.o, ke, b.es), down(b.sT, fe, b.es), down(b.dq, kd, b.es), down(b.dk, kd, b.es), down(b.dv, ke, b.es) };
}
static void cmp(const char* what, const Out& a, const Out& ref)
{
    const std::vector<double>* A[] = { &a.o, &a.sT, &a.dq, &a.dk, &a.dv };
    const std::vector<double>* R[] = { &ref.o, &ref.sT, &ref.dq, &ref.dk, &ref.dv };
    const char* nm[] = { "o", "sT", "dq", "dk", "dv" };
    printf("  %-28s", what);
    for (int t = 0; t < 5; t++)
    {
        double num = 0, den = 0, mx = 0; bool fin = true;
        for (size_t i = 0; i < A[t]->size(); i++) { double x = (*A[t])[i], y = (*R[t])[i]; if (!std::isfinite(x)) fin = false; num += (x - y) * (x - y); den += y * y; mx = fmax(mx, fabs(x - y)); }
        printf(" %s %.2e/%.1e%s", nm[t], den > 0 ? num / den : num, mx, fin ? "" : "(NONFINITE)");
    }
    printf("\n");
}

static void randn(std::vector<double>& v, unsigned long long seed, double scale)
{
    unsigned long long st = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    auto u = [&]() { st = st * 6364136223846793005ULL + 1442695040888963407ULL; return ((st >> 11) + 0.5) / 9007199254740992.0; };
    for (size_t i = 0; i < v.size(); i++) { double a = u(), b2 = u(); v[i] = scale * sqrt(-2 * log(a)) * cos(6.283185307179586 * b2); }
}

int main(int argc, char** argv)
{
    CK(cuInit(0)); CUdevice dev; CK(cuDeviceGet(&dev, 0)); CUcontext ctx; CK(cuDevicePrimaryCtxRetain(&ctx, dev)); CK(cuCtxSetCurrent(ctx));
    CK(cuDeviceGetAttribute(&SMS, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    Mods M[2];
    for (int i = 0; i < 2; i++) { std::string d = argv[1 + i]; M[i].gated = loadMod(d + "/gated.ptx"); M[i].additive = loadMod(d + "/additive.ptx"); M[i].isNew = i == 1; M[i].name = i ? "new" : "old"; }
    bool quick = argc > 3 && !strcmp(argv[3], "quick");
    if (argc > 3 && !strcmp(argv[3], "time"))
    {
        // timing only: argv[1] = label-only, argv[2] = module dir (treated as new)
        Shape s = { 128, 4096, 128, 128, 1.0 };
        size_t kd = (size_t)s.N * s.T * s.d, ke = (size_t)s.N * s.T * s.e;
        std::vector<double> hq(kd), hk(kd), hv(ke), hdo(ke);
        randn(hq, 1, 1.0); randn(hk, 2, 1.0); randn(hv, 3, 1.0); randn(hdo, 4, 1.0);
        Bufs b32 = makeBufs(s, 4, hq, hk, hv, hdo);
        const char* modes[2] = { "f32", "tf32" };
        for (int md = 0; md < 2; md++)
        {
            forward(M[1], s, b32, modes[md], 0.088); backward(M[1], s, b32, modes[md], 0.088);
            g_time = true; g_ms.clear(); g_order.clear();
            for (int r = 0; r < 3; r++) { forward(M[1], s, b32, modes[md], 0.088); backward(M[1], s, b32, modes[md], 0.088); }
            g_time = false;
            printf("%s %s:", argv[2], modes[md]);
            for (auto& t : g_order) printf(" %s %.3f", t.c_str(), g_ms[t] / 3);
            printf("\n");
        }
        return 0;
    }
    double scale = 0.088;
    Shape shapes[2] = { { 128, 4096, 128, 128, 1.0 }, { 3, 1000, 96, 72, 10.0 } };
    for (int si = 0; si < 2; si++)
    {
        Shape s = shapes[si];
        printf("shape N=%d T=%d d=%d e=%d kscale=%g\n", s.N, s.T, s.d, s.e, s.kscale);
        size_t kd = (size_t)s.N * s.T * s.d, ke = (size_t)s.N * s.T * s.e;
        std::vector<double> hq(kd), hk(kd), hv(ke), hdo(ke);
        randn(hq, 1, 1.0); randn(hk, 2, s.kscale); randn(hv, 3, 1.0); randn(hdo, 4, 1.0);
        Bufs b32 = makeBufs(s, 4, hq, hk, hv, hdo);
        Out ref;
        {
            Bufs b64 = makeBufs(s, 8, hq, hk, hv, hdo);
            forward(M[0], s, b64, "f64", scale); backward(M[0], s, b64, "f64", scale);
            ref = fetch(s, b64);
            forward(M[1], s, b64, "f64", scale); backward(M[1], s, b64, "f64", scale);
            cmp("f64 new vs f64 old", fetch(s, b64), ref);
            // free f64
            CUdeviceptr* ps = &b64.q; for (int i = 0; i < 23; i++) cuMemFree(ps[i]);
        }
        Out o32[2], otf[2];
        for (int mi = 0; mi < 2; mi++)
        {
            forward(M[mi], s, b32, "f32", scale); backward(M[mi], s, b32, "f32", scale); o32[mi] = fetch(s, b32);
            forward(M[mi], s, b32, "tf32", scale); backward(M[mi], s, b32, "tf32", scale); otf[mi] = fetch(s, b32);
        }
        cmp("f32 old vs f64", o32[0], ref); cmp("f32 new vs f64", o32[1], ref); cmp("f32 new vs f32 old", o32[1], o32[0]);
        cmp("tf32 old vs f64", otf[0], ref); cmp("tf32 new vs f64", otf[1], ref); cmp("tf32 new vs tf32 old", otf[1], otf[0]);
        if (si == 0)
        {
            const char* modes[2] = { "f32", "tf32" };
            for (int md = 0; md < 2; md++)
                for (int mi = 0; mi < 2; mi++)
                {
                    const int R = 5;
                    CUevent e0, e1, e2; cuEventCreate(&e0, 0); cuEventCreate(&e1, 0); cuEventCreate(&e2, 0);
                    float fw = 0, fb = 0;
                    for (int r = 0; r < R; r++)
                    {
                        cuEventRecord(e0, 0); forward(M[mi], s, b32, modes[md], scale); cuEventRecord(e1, 0);
                        backward(M[mi], s, b32, modes[md], scale); cuEventRecord(e2, 0); cuEventSynchronize(e2);
                        float a, c; cuEventElapsedTime(&a, e0, e1); cuEventElapsedTime(&c, e0, e2); fw += a; fb += c;
                    }
                    g_time = true; g_ms.clear(); g_order.clear();
                    for (int r = 0; r < R; r++) { forward(M[mi], s, b32, modes[md], scale); backward(M[mi], s, b32, modes[md], scale); }
                    g_time = false;
                    printf("%s %s: forward %.3f ms, forward+backward %.3f ms | per kernel (ms, summed per fwd+bwd):", M[mi].name.c_str(), modes[md], fw / R, fb / R);
                    for (auto& t : g_order) printf(" %s %.3f", t.c_str(), g_ms[t] / R);
                    printf("\n");
                }
        }
        CUdeviceptr* ps = &b32.q; for (int i = 0; i < 23; i++) cuMemFree(ps[i]);
        if (quick) break;
    }
    return 0;
}
