// Standalone timing and cross-variant parity of the chunk kernels of gated.cu (gated_scan, gated_out, gated_bwd) on a GPU
// machine without .NET: loads several builds of gated.ptx through the driver API and launches each with its own shared
// memory, on the attention op's benchmark shape (N = B·H = 128 sequences, T = 4096, d = e = 128, contiguous heads, every
// chunk factored; the attention op of LightNet.Perf cuda, B = 8, H = 16).
// Build: nvcc -O2 -o harness scripts/attention_harness.cu -lcuda
// Usage: [HARNESS_WIDE=1] harness PTX:OUT_SMEM:BWD_SMEM[:lk] [PTX:OUT_SMEM:BWD_SMEM[:lk] ...] [additive:ADDITIVE_PTX]
//   HARNESS_WIDE=1: gated_bwd forms dv 128 value columns at a time (builds with the wide stages; BWD_SMEM 106496 for float).
//   Each argument is a gated.ptx (e.g. scripts/ptx.sh output, or nvcc -ptx with -D overrides of a variant) and the
//   dynamic shared memory in bytes of its float gated_out and gated_bwd. For every variant and mode (f32, tf32, and tf32_bf16
//   on the same inputs rounded to bfloat16): the ms
//   of one launch of each kernel (median of 9; gated_out also keeping its scores, gated_bwd also with the additive backward's w and carry, then also
//   reading the kept scores), blocks per multiprocessor, and the normalised error ‖x − ref‖² / ‖ref‖²
//   of o, dq, dk̄, dv (their first 2²³ elements) against the first variant's exact f32 kernels; then the forward scan, from
//   k̄ and G, and with :lk (a build whose gated_scan takes zc) also in the log-key form from k = log k̄ − G,
//   Z_ref = 0 and Z_last = −G_last (the same states: their error against the k̄ form is printed). additive:PTX times the
//   elementwise kernels of additive.cu (lse, zref and prep of the forward, the prep also writing zc; wchain and dk of the
//   backward) on float32 and bfloat16 k. Inputs are uniform with mean 0 and variance 1 (k̄ in [0.001, 1.001), the
//   states a repeated random block): the timing does not depend on them.
#include <cuda.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
typedef long long i64;
#define CK(x) do { CUresult r_ = (x); if (r_ != CUDA_SUCCESS) { const char* s_; cuGetErrorName(r_, &s_); printf("CUDA error %s at %s:%d\n", s_, __FILE__, __LINE__); exit(1); } } while (0)

struct Rows { i64 h, sb, sh, st; };
static const i64 N = 128, T = 4096, D = 128, E = 128, C = T / 64;

static std::string readFile(const std::string& p)
{
    FILE* f = fopen(p.c_str(), "rb");
    if (!f) { printf("no %s\n", p.c_str()); exit(1); }
    std::string s;
    char b[65536];
    size_t n;
    while ((n = fread(b, 1, sizeof b, f)) > 0) s.append(b, n);
    fclose(f);
    return s;
}

static CUdeviceptr upload(const std::vector<float>& h)
{
    CUdeviceptr p;
    CK(cuMemAlloc(&p, h.size() * 4));
    CK(cuMemcpyHtoD(p, h.data(), h.size() * 4));
    return p;
}
static CUdeviceptr zeros(size_t n)
{
    CUdeviceptr p;
    CK(cuMemAlloc(&p, n * 4 < 8 ? 8 : n * 4));
    CK(cuMemsetD32(p, 0, n));
    return p;
}
// bfloat16 copy (round to nearest even) of float values.
static CUdeviceptr upload16(const std::vector<float>& h)
{
    std::vector<unsigned short> b(h.size());
    for (size_t i = 0; i < h.size(); i++)
    {
        unsigned u;
        memcpy(&u, &h[i], 4);
        b[i] = (unsigned short)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }
    CUdeviceptr p;
    CK(cuMemAlloc(&p, b.size() * 2));
    CK(cuMemcpyHtoD(p, b.data(), b.size() * 2));
    return p;
}
// The first 2²³ elements (enough for the errors, and quick), stored as float or (bf16) bfloat16.
static std::vector<double> download(CUdeviceptr p, size_t n, bool bf16 = false)
{
    n = std::min(n, (size_t)1 << 23);
    std::vector<float> f(n);
    CK(cuCtxSynchronize());
    if (bf16)
    {
        std::vector<unsigned short> b(n);
        CK(cuMemcpyDtoH(b.data(), p, n * 2));
        for (size_t i = 0; i < n; i++) { unsigned u = (unsigned)b[i] << 16; memcpy(&f[i], &u, 4); }
    }
    else CK(cuMemcpyDtoH(f.data(), p, n * 4));
    return std::vector<double>(f.begin(), f.end());
}
static double nerr(const std::vector<double>& a, const std::vector<double>& r)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); i++) { num += (a[i] - r[i]) * (a[i] - r[i]); den += r[i] * r[i]; }
    return std::isfinite(num) ? num / den : INFINITY;
}

// Median ms of 9 launches (after one warm-up).
static double timeIt(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned smem, void** args)
{
    if (smem > 48 * 1024) CK(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
    CK(cuLaunchKernel(f, gx, gy, gz, 256, 1, 1, smem, 0, args, nullptr));
    std::vector<float> ms;
    CUevent e0, e1;
    CK(cuEventCreate(&e0, 0));
    CK(cuEventCreate(&e1, 0));
    for (int r = 0; r < 9; r++)
    {
        CK(cuEventRecord(e0, 0));
        CK(cuLaunchKernel(f, gx, gy, gz, 256, 1, 1, smem, 0, args, nullptr));
        CK(cuEventRecord(e1, 0));
        CK(cuEventSynchronize(e1));
        float m;
        CK(cuEventElapsedTime(&m, e0, e1));
        ms.push_back(m);
    }
    std::sort(ms.begin(), ms.end());
    return ms[4];
}

int main(int argc, char** argv)
{
    CK(cuInit(0));
    CUdevice dev;
    CK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CK(cuCtxSetCurrent(ctx));
    unsigned long long seed = 88172645463325252ULL;
    auto uni = [&]() { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return (seed >> 11) * (1.0 / 9007199254740992.0); };
    auto normal = [&]() { return (float)(3.4641016151377544 * (uni() - 0.5)); }; // uniform, mean 0, variance 1
    size_t kd = N * T * D, ve = N * T * E, st = N * C * D * E;
    std::vector<float> hq(kd), hk(kd), hG(kd), hv(ve), hdo(ve), hs(st), hr(st);
    for (auto& x : hq) x = normal();
    for (auto& x : hk) x = (float)(0.001 + uni());
    for (auto& x : hv) x = normal();
    for (auto& x : hdo) x = normal();
    for (size_t i = 0; i < st; i++) hs[i] = i < (1u << 22) ? normal() : hs[i * 7 % (1u << 22)];
    for (size_t i = 0; i < st; i++) hr[i] = i < (1u << 22) ? normal() : hr[i * 5 % (1u << 22)];
    // G: the in-chunk sums of log-decays in [−0.05, 0)
    for (i64 n = 0; n < N; n++)
        for (i64 t = 0; t < T; t++)
            for (i64 i = 0; i < D; i++)
            {
                size_t at = (n * T + t) * D + i;
                hG[at] = (float)(-0.05 * uni()) + (t % 64 ? hG[at - D] : 0.f);
            }
    // the log-key form of the same k̄: k = log k̄ − G (Z_ref = 0), Z_last = −G_last ([N, chunks, 2, d])
    std::vector<float> hkl(kd), hzc(2 * N * C * D, 0.f);
    for (size_t i = 0; i < kd; i++) hkl[i] = (float)(std::log((double)hk[i]) - hG[i]);
    for (i64 n = 0; n < N; n++)
        for (i64 c = 0; c < C; c++)
            for (i64 i = 0; i < D; i++) hzc[((n * C + c) * 2 + 1) * D + i] = -hG[(n * T + c * 64 + 63) * D + i];
    CUdeviceptr q32 = upload(hq), kb = upload(hk), G = upload(hG), v32 = upload(hv), dO32 = upload(hdo), h = upload(hs), dh = upload(hr);
    CUdeviceptr q16 = upload16(hq), v16 = upload16(hv), dO16 = upload16(hdo), kl32 = upload(hkl), kl16 = upload16(hkl), zc = upload(hzc);
    CUdeviceptr sf = zeros(st), sl = zeros(st);
    CUdeviceptr flag = zeros(N * C), o32 = zeros(ve), dq32 = zeros(kd), dk = zeros(kd), dv32 = zeros(ve), o16 = zeros(ve), dq16 = zeros(kd), dv16 = zeros(ve), tot = zeros(N * (C + 1) * D), wl = zeros(N * C * D), ca = zeros(N * C * D), sc = zeros(N * C * 64 * 64), nul = 0;
    CK(cuMemsetD32(flag, 1, N * C));
    Rows kr = { 1, T * D, 0, D }, vr = { 1, T * E, 0, E };
    double alpha = 0.088;
    i64 tn = T, d = D, e = E, chunks = C, wide = getenv("HARNESS_WIDE") && atoi(getenv("HARNESS_WIDE")) != 0; // gated_bwd forms dv 128 columns at a time (the wide stages)
    std::vector<double> ref[4];
    for (int a = 1; a < argc; a++)
    {
        std::string arg = argv[a];
        if (arg.rfind("additive:", 0) == 0)
        {
            CUmodule m;
            std::string ptx = readFile(arg.substr(9));
            CK(cuModuleLoadData(&m, ptx.c_str()));
            CUdeviceptr lse = zeros(2 * N * C * D), zref = zeros(2 * N * C * D), kbx = zeros(kd), Gx = zeros(kd), zcx = zeros(2 * N * C * D), zT = zeros(N * D);
            i64 hasZ0 = 0, n = N;
            unsigned grid = (unsigned)((N * C * D + 255) / 256), gridZ = (unsigned)((N * D + 255) / 256);
            for (const char* sn : { "f32", "bf16" })
            {
                bool b16 = strcmp(sn, "bf16") == 0;
                CUdeviceptr k = b16 ? q16 : q32, dkOut = b16 ? dq16 : dq32;
                CUfunction fl, fz, fp, fd, fw;
                CK(cuModuleGetFunction(&fw, m, "additive_wchain_f32"));
                CK(cuModuleGetFunction(&fl, m, (std::string("additive_lse_") + sn).c_str()));
                CK(cuModuleGetFunction(&fz, m, "additive_zref_f32"));
                CK(cuModuleGetFunction(&fp, m, (std::string("additive_prep_") + sn).c_str()));
                CK(cuModuleGetFunction(&fd, m, (std::string("additive_dk_") + sn).c_str()));
                void* al[] = { &k, &lse, &n, &tn, &d, &chunks, &kr };
                void* az[] = { &nul, &lse, &zref, &n, &d, &chunks };
                void* ap[] = { &k, &zref, &kbx, &Gx, &zcx, &flag, &zT, &hasZ0, &n, &tn, &d, &chunks, &kr };
                void* aw2[] = { &wl, &ca, &n, &d, &chunks };
                void* ad[] = { &kbx, &Gx, &dk, &wl, &ca, &nul, &nul, &dkOut, &nul, &n, &tn, &d, &e, &chunks, &kr };
                double tl = timeIt(fl, grid, 1, 1, 0, al), tz = timeIt(fz, gridZ, 1, 1, 0, az), tp = timeIt(fp, grid, 1, 1, 0, ap);
                double tw = timeIt(fw, gridZ, 1, 1, 0, aw2), td = timeIt(fd, grid, 1, 1, 0, ad);
                printf("%-28s %-9s lse %.3f ms  zref %.3f ms  prep %.3f ms  wchain %.3f ms  dk %.3f ms\n", arg.c_str(), sn, tl, tz, tp, tw, td);
            }
            CK(cuMemsetD32(flag, 1, N * C));
            CK(cuModuleUnload(m));
            continue;
        }
        bool lk = arg.size() > 3 && arg.compare(arg.size() - 3, 3, ":lk") == 0;
        if (lk) arg = arg.substr(0, arg.size() - 3);
        size_t c1 = arg.find(':'), c2 = arg.find(':', c1 + 1);
        std::string path = arg.substr(0, c1);
        unsigned outSmem = (unsigned)atoi(arg.substr(c1 + 1, c2 - c1 - 1).c_str()), bwdSmem = (unsigned)atoi(arg.substr(c2 + 1).c_str());
        if (wide && bwdSmem < 106496)
        {
            printf("%s: HARNESS_WIDE needs BWD_SMEM of at least 106496 (the wide stages), got %u\n", arg.c_str(), bwdSmem);
            exit(1);
        }
        CUmodule m;
        std::string ptx = readFile(path);
        CK(cuModuleLoadData(&m, ptx.c_str()));
        // tf32_bf16: the kernels reading bfloat16 q, v, dO and writing bfloat16 o, dq, dv (the same values rounded)
        for (const char* mode : { "f32", "tf32", "tf32_bf16" })
        {
            bool b16 = strcmp(mode, "tf32_bf16") == 0;
            CUdeviceptr q = b16 ? q16 : q32, v = b16 ? v16 : v32, dO = b16 ? dO16 : dO32, o = b16 ? o16 : o32, dq = b16 ? dq16 : dq32, dv = b16 ? dv16 : dv32;
            CUfunction fo, fb, fs;
            CUresult found = cuModuleGetFunction(&fo, m, (std::string("gated_out_") + mode).c_str());
            if (found == CUDA_ERROR_NOT_FOUND) continue; // a build without the bfloat16 kernels
            CK(found);
            CK(cuModuleGetFunction(&fb, m, (std::string("gated_bwd_") + mode).c_str()));
            CK(cuModuleGetFunction(&fs, m, (std::string("gated_scan_") + mode).c_str()));
            void* ao[] = { &q, &kb, &v, &G, &flag, &h, &o, &nul, &alpha, &tn, &d, &e, &chunks, &kr, &vr };
            void* ab[] = { &q, &kb, &v, &G, &flag, &h, &dh, &dO, &nul, &nul, &dq, &dk, &dv, &nul, &tot, &nul, &nul, &nul, &alpha, &tn, &d, &e, &chunks, &kr, &vr, &wide };
            void* aw[] = { &q, &kb, &v, &G, &flag, &h, &dh, &dO, &nul, &nul, &dq, &dk, &dv, &nul, &tot, &wl, &ca, &nul, &alpha, &tn, &d, &e, &chunks, &kr, &vr, &wide };
            void* aos[] = { &q, &kb, &v, &G, &flag, &h, &o, &sc, &alpha, &tn, &d, &e, &chunks, &kr, &vr };
            void* aws[] = { &q, &kb, &v, &G, &flag, &h, &dh, &dO, &nul, &nul, &dq, &dk, &dv, &nul, &tot, &wl, &ca, &sc, &alpha, &tn, &d, &e, &chunks, &kr, &vr, &wide };
            CUdeviceptr states = dh; // the scan overwrites the reverse states last (they are random again below)
            i64 rev = 1, fwd = 0;
            std::vector<void*> as = { &q, &dO, &G, &nul, &alpha, &nul, &states, &nul, &tn, &d, &e, &chunks, &rev, &kr, &vr };
            // the forward scan from k̄ (as T) and, with lk, from k (as S) and zc, into sf and sl
            CUdeviceptr kbs = kb, kls = b16 ? kl16 : kl32;
            std::vector<void*> asf = { &kbs, &v, &G, &nul, &alpha, &nul, &sf, &nul, &tn, &d, &e, &chunks, &fwd, &kr, &vr };
            std::vector<void*> asl = { &kls, &v, &G, &zc, &alpha, &nul, &sl, &nul, &tn, &d, &e, &chunks, &fwd, &kr, &vr };
            if (!lk) { as.erase(as.begin() + 3); asf.erase(asf.begin() + 3); }
            double tOut = timeIt(fo, C, N, 1, outSmem, ao), tBwd = timeIt(fb, C, N, 1, bwdSmem, ab), tBwdW = timeIt(fb, C, N, 1, bwdSmem, aw);
            double tOutS = timeIt(fo, C, N, 1, outSmem, aos), tBwdS = timeIt(fb, C, N, 1, bwdSmem, aws);
            unsigned scanSmem = 2 * (3 * 32 * 68 + 64) * 4;
            double tScan = timeIt(fs, 2, 2, N, scanSmem, as.data()), tScanF = timeIt(fs, 2, 2, N, scanSmem, asf.data());
            double tScanL = lk ? timeIt(fs, 2, 2, N, scanSmem, asl.data()) : NAN;
            double eScanL = lk ? nerr(download(sl, st), download(sf, st)) : NAN;
            CK(cuMemcpyHtoD(dh, hr.data(), st * 4));
            CK(cuLaunchKernel(fo, C, N, 1, 256, 1, 1, outSmem, 0, ao, nullptr));
            CK(cuLaunchKernel(fb, C, N, 1, 256, 1, 1, bwdSmem, 0, ab, nullptr));
            std::vector<double> got[4] = { download(o, ve, b16), download(dq, kd, b16), download(dk, kd), download(dv, ve, b16) };
            if (ref[0].empty())
                for (int i = 0; i < 4; i++) ref[i] = got[i];
            int bo = 0, bb = 0;
            CK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&bo, fo, 256, outSmem));
            CK(cuOccupancyMaxActiveBlocksPerMultiprocessor(&bb, fb, 256, bwdSmem));
            printf("%-28s %-9s out %.3f ms (%d/SM), keeping A %.3f  bwd %.3f ms (%d/SM), with w %.3f, with w and kept A %.3f  scan reverse %.3f, forward %.3f, log keys %.3f ms (states err %.1e) | err o %.1e dq %.1e dk %.1e dv %.1e\n",
                path.c_str(), mode, tOut, bo, tOutS, tBwd, bb, tBwdW, tBwdS, tScan, tScanF, tScanL, eScanL, nerr(got[0], ref[0]), nerr(got[1], ref[1]), nerr(got[2], ref[2]), nerr(got[3], ref[3]));
        }
        CK(cuModuleUnload(m));
    }
    return 0;
}
