using LightNet.Kernels.Cuda.Native;

namespace LightNet.Kernels.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>Chunk length of the CUDA kernels (gated.cu's CH); the chunk argument of the entry points does not change it.</summary>
    private const int GatedChunk = 64;
    private const int GatedThreads = 256;
    /// <summary>Shared-memory leading dimensions of gated.cu: a 64-wide tile (LDT) and a 32-deep slice (LDS).</summary>
    private const int GatedLdT = GatedChunk + 4, GatedLdS = 32 + 4;
    /// <summary>Stages of gated.cu's pipe() for elements of <paramref name="es"/> bytes (its <c>Stages&lt;T&gt;</c>): two for float, one for double.</summary>
    private static int GatedStages(int es) => es == 8 ? 1 : 2;
    /// <summary>Elements of pipe()'s stages: three staged tiles each (gated.cu's STAGE).</summary>
    private static int GatedPipe(int es) => GatedStages(es) * 3 * GatedChunk * GatedLdS;
    /// <summary>Elements of the wide pipe() stages of gated_out and of gated_bwd's dv, whose second tile is 32 × 128 (gated.cu's WIDE_STAGE).</summary>
    private static int GatedWidePipe(int es) => GatedStages(es) * (2 * GatedChunk * GatedLdS + 32 * (128 + 4));

    /// <summary>Dynamic shared memory of gated_bwd: A, dA, pipe()'s stages (wide or not) and G of the chunk's last and first tokens.</summary>
    private static int GatedBwdShared(int d, int es, bool wide) =>
        (2 * GatedChunk * GatedLdT + (wide ? GatedWidePipe(es) : GatedPipe(es)) + 2 * ((d + 3) & ~3)) * es;

    /// <summary>
    /// Threads to launch for additive_prep / additive_dk: a quarter of the (sequence, chunk, feature) items when d is a multiple
    /// of 4, as those kernels then take four features per thread where the rows and pointers allow (their grid-stride loops
    /// cover every item whatever the grid).
    /// </summary>
    private static long AdditiveLaneWork(in GatedDims w) => w.D % 4 == 0 ? w.ChunkFeatures / 4 : w.ChunkFeatures;

    /// <summary>
    /// Whether gated_bwd forms dv over 128 value columns at a time (its wide stages) for d features of <paramref name="es"/>
    /// bytes: float only, where <see cref="AllowWideDv"/> and two such blocks fit one multiprocessor, as the kernels run two
    /// per multiprocessor (H100/H200); else 64 at a time.
    /// </summary>
    internal bool WideDv(int d, int es)
    {
        int smem = GatedBwdShared(d, es, wide: true);
        return AllowWideDv && es == 4 && 2 * (smem + SharedReservedPerBlock) <= _dev.MaxSharedBytesPerMultiprocessor && smem <= _dev.MaxSharedBytesPerBlock;
    }

    /// <summary>Shared memory the driver reserves for every resident block on sm_80 and newer, beyond its dynamic shared memory.</summary>
    private const int SharedReservedPerBlock = 1024;

    /// <summary>Token rows of one operand group (gated.cu's <c>struct Rows</c>): row t of sequence n at (n / H)·Sb + (n mod H)·Sh + t·St.</summary>
    private readonly record struct Rows(long H, long Sb, long Sh, long St)
    {
        /// <summary>Rows of [B, H, T, dim] in <paramref name="layout"/>.</summary>
        public static Rows Of(HeadLayout layout, int h, int t, int dim)
        {
            var s = HeadLayouts.Strides(layout, h, t, dim);
            return new Rows(h, s[0], s[1], s[2]);
        }
    }

    /// <summary>
    /// Sizes of one attention call cut into chunks: contiguous [N, T, d] queries and keys and [N, T, e] values, or
    /// [B, H, T, ·] operands (N = B·H) whose key-like and value-like groups each share one <see cref="HeadLayout"/>.
    /// </summary>
    private readonly struct GatedDims
    {
        public readonly int N, T, D, E, Chunks, Es;
        /// <summary>The dtype of the kernels' arithmetic and of everything they keep (k̄, G, states, scores): q's, float32 for bfloat16 q.</summary>
        public readonly DType Compute;
        /// <summary>Row layouts of the key-like operands (q, k, k̄, g, G and their gradients) and of the value-like ones (v, o, dO, dv).</summary>
        public readonly Rows Kr, Vr;
        public GatedDims(Tensor q, Tensor v, string op)
        {
            Compute = q.DType == DType.BFloat16 ? DType.Float32 : q.DType;
            Es = Compute.Size();
            if (q.Rank == 4)
            {
                int b = q.Size(0), h = q.Size(1);
                N = b * h; T = q.Size(2); D = q.Size(3); E = v.Size(3);
                Kr = Rows.Of(Layout(op, q, "q"), h, T, D);
                Vr = Rows.Of(Layout(op, v, "v"), h, T, E);
            }
            else
            {
                N = q.Size(0); T = q.Size(1); D = q.Size(2); E = v.Size(2);
                Kr = new Rows(1, (long)T * D, 0, D);
                Vr = new Rows(1, (long)T * E, 0, E);
            }
            Chunks = (T + GatedChunk - 1) / GatedChunk;
            if (N > 65535 || Chunks > 65535)
                throw new ShapeException($"{op}: {N} sequences of {T} tokens exceed the CUDA grid (at most 65535 sequences and 65535 chunks of {GatedChunk})");
            if (Math.Max(Kr.St, Vr.St) * GatedChunk > int.MaxValue)
                throw new ShapeException($"{op}: rows of {Math.Max(Kr.St, Vr.St)} elements are too far apart for the chunk kernels (q {q.Shape}, v {v.Shape})");
        }

        private static HeadLayout Layout(string op, Tensor x, string name) => HeadLayouts.Of(x) ??
            throw new ShapeException($"{op}: '{name}' {x.Shape} with strides [{string.Join(", ", x.Strides.ToArray())}] is neither heads-major nor tokens-major");

        /// <summary>Throws unless every operand has the key-like (or value-like) group's layout.</summary>
        public void Check(string op, bool values, params ReadOnlySpan<(Tensor? T, string Name)> operands)
        {
            if (operands.Length == 0 || operands[0].T!.Rank != 4) return;
            var want = values ? Vr : Kr;
            foreach (var (t, name) in operands)
                if (t != null && Rows.Of(Layout(op, t, name), t.Size(1), t.Size(2), t.Size(3)) != want)
                    throw new ShapeException($"{op}: '{name}' {t.Shape} must have the {(values ? "value" : "query")} operands' layout (strides [{string.Join(", ", t.Strides.ToArray())}])");
        }
        public bool Empty => N == 0 || D == 0 || E == 0;
        /// <summary>Bytes of one [N, T, d] tensor.</summary>
        public long KeyBytes => (long)N * T * D * Es;
        /// <summary>Bytes of the states at every chunk boundary, [N, chunks, d, e].</summary>
        public long StateBytes => (long)N * Chunks * D * E * Es;
        /// <summary>Bytes of one value per (sequence, chunk, feature).</summary>
        public long ChunkFeatureBytes(int size) => (long)N * Chunks * D * size;
        /// <summary>Work items of the one-thread-per-(sequence, chunk, feature) kernels.</summary>
        public long ChunkFeatures => (long)N * Chunks * D;
    }

    /// <summary>Device memory rented from the caching allocator for one call (stream-ordered, so it is handed back right after queuing).</summary>
    private readonly struct Scratch : IDisposable
    {
        private readonly DeviceAllocator _alloc;
        private readonly long _block;
        public readonly ulong Ptr;
        public Scratch(DeviceAllocator alloc, long bytes) { _alloc = alloc; Ptr = alloc.Rent(Math.Max(8, bytes), out _block); }
        public void Dispose() => _alloc?.Return(Ptr, _block);
    }

    private Scratch Rent(long bytes) => new(_dev.Allocator, bytes);

    /// <summary>
    /// gated.cu's kernel <paramref name="name"/> for operands of <paramref name="t"/>: float32 arithmetic on TF32 tensor cores
    /// when <see cref="AllowTf32"/> is set, and for bfloat16 the kernels that read and write it (float32 inside).
    /// </summary>
    private string GatedKernel(string op, DType t, string name) => t switch
    {
        DType.Float64 => name + "_f64",
        DType.Float32 => name + (AllowTf32 ? "_tf32" : "_f32"),
        DType.BFloat16 => name + (AllowTf32 ? "_tf32_bf16" : "_f32_bf16"),
        _ => throw Unsupported(op, t, true),
    };

    /// <inheritdoc/>
    /// <remarks>bfloat16 stays bfloat16: the causal kernels read q, k, v, dO and write o, dq, dk, dv in it.</remarks>
    public DType AdditiveOperandDType(DType input) => input == DType.BFloat16 ? input : input.Accumulation();

    /// <summary>Throws unless every tensor given has <paramref name="want"/>: the operands' dtype or, for states and Z, the arithmetic's.</summary>
    private static void SameDType(string op, DType want, params ReadOnlySpan<(Tensor? T, string Name)> tensors)
    {
        foreach (var (t, name) in tensors)
            if (t != null && t.DType != want)
                throw new ShapeException($"{op}: '{name}' {t.Shape} has dtype {t.DType.Name()}, expected {want.Name()}");
    }

    /// <summary>Throws, naming the op and sizes, when a chunk kernel needs more shared memory per block than this GPU allows.</summary>
    private void RequireShared(string op, in GatedDims w, DType t, int bytes, string what)
    {
        int max = _dev.MaxSharedBytesPerBlock;
        if (bytes > max)
            throw new ShapeException($"{op}: {what} needs {bytes} bytes of shared memory per block for d = {w.D}, e = {w.E} in {t}; " +
                $"{_dev.Info.Name} allows {max} (the chunk kernels need less in float32)");
    }

    private void GatedLaunch(string kernel, uint gx, uint gy, uint gz, int sharedBytes, params ReadOnlySpan<KernelArg> args)
    {
        var f = _dev.Function("gated", kernel);
        if (sharedBytes > 48 * 1024) f.AllowSharedBytes(sharedBytes);
        var a = ArgPack.From(args);
        f.Launch(gx, gy, gz, GatedThreads, (uint)sharedBytes, S, ref a);
    }

    /// <summary>
    /// States at every chunk boundary (forward: x = k̄, y = v; reverse: x = q, y = dO) and the last one. The forward's x may
    /// instead be k itself with <paramref name="zc"/> (not 0) holding every chunk's Z_ref and Z_last (the additive attention's
    /// log-key form: no G is read).
    /// </summary>
    /// <remarks>
    /// Two stage buffers (gated.cu's SCAN_BUF), each x, G and y of half a chunk (32 × 64, leading dimension 68) and the chunk's last G;
    /// in the log-key form x is k, no G tile is copied, Z_ref takes the G tile's first row and Z_last the last G's place.
    /// </remarks>
    private void GatedScan(in GatedDims w, DType t, ulong x, ulong y, ulong G, ulong zc, double scale, ulong init, ulong states, ulong fin, bool reverse)
    {
        int smem = 2 * (3 * 32 * GatedLdT + 64) * w.Es;
        RequireShared(reverse ? "gated_attention_backward" : "gated_attention", w, t, smem, "the chunk-state scan");
        GatedLaunch(GatedKernel("gated_attention", t, "gated_scan"), (uint)((w.E + 63) / 64), (uint)((w.D + 63) / 64), (uint)w.N, smem,
            x, y, G, reverse ? 0UL : zc, scale, init, states, fin, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks, reverse ? 1L : 0L,
            w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St, w.Vr.H, w.Vr.Sb, w.Vr.Sh, w.Vr.St);
    }

    /// <summary>The forward scan's key: k̄ (<see cref="Zc"/> 0), or k with every chunk's Z_ref and Z_last in <see cref="Zc"/>.</summary>
    private readonly record struct ScanKey(ulong X, ulong Zc);

    /// <summary>
    /// Forward from k̄ (the scan's key: <paramref name="scanKey"/>, k̄ or k with zc), the in-chunk log-decay G and the chunk flags: chunk states
    /// (into <paramref name="states"/> when given, a scratch buffer otherwise), then every chunk's output, and its masked scores
    /// into <paramref name="scores"/> ([N, chunks, 64, 64]) when given.
    /// </summary>
    private void GatedForwardCore(in GatedDims w, Tensor q, ulong kbar, ScanKey scanKey, Tensor v, ulong G, ulong flag, double scale, Tensor? s0,
        Tensor o, Tensor sT, ulong states = 0, ulong scores = 0)
    {
        var kOut = GatedKernel("gated_attention", q.DType, "gated_out");
        int outSmem = (GatedChunk * GatedLdT + GatedWidePipe(w.Es)) * w.Es;
        RequireShared("gated_attention", w, q.DType, outSmem, "the chunk output kernel");
        using var scratch = states == 0 ? Rent(w.StateBytes) : default;
        ulong h = states == 0 ? scratch.Ptr : states;
        GatedScan(w, q.DType, scanKey.X, Addr(v), G, scanKey.Zc, scale, Addr(s0, true), h, Addr(sT), reverse: false);
        if (w.Chunks > 0)
            GatedLaunch(kOut, (uint)w.Chunks, (uint)w.N, 1, outSmem,
                Addr(q), kbar, Addr(v), G, flag, h, Addr(o), scores, scale, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks,
                w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St, w.Vr.H, w.Vr.Sb, w.Vr.Sh, w.Vr.St);
    }

    /// <summary>
    /// Backward from k̄ (the recomputing scan's key: <paramref name="scanKey"/>, unused with saved states), G and the chunk flags: states (or the forward's <paramref name="savedStates"/>; then no dg), state
    /// gradients (dS0 = the last), then every chunk (with the forward's masked scores when <paramref name="savedScores"/> is
    /// not 0); dg only when asked. With <paramref name="wloc"/> (not 0) the additive backward's pieces instead: dk̄ minus the
    /// w of each chunk alone into <paramref name="dkbar"/>, w at each chunk's start and the factors that carry the next
    /// chunk's w in ([N, chunks, d] each).
    /// </summary>
    private void GatedBackwardCore(in GatedDims w, Tensor q, ulong kbar, ScanKey scanKey, Tensor v, ulong G, ulong flag, double scale, Tensor? s0,
        Tensor dO, Tensor? dsT, Tensor dq, ulong dkbar, Tensor dv, Tensor? dg, Tensor? ds0, ulong savedStates = 0, ulong wloc = 0, ulong carry = 0,
        ulong savedScores = 0)
    {
        if (savedStates != 0 && dg != null) throw new InvalidOperationException("gated_attention_backward: dg needs the final state, which saved states do not carry");
        if (wloc != 0 && dg != null) throw new InvalidOperationException("gated_attention_backward: the chunk kernel gives dg or the additive w, not both");
        var kBwd = GatedKernel("gated_attention_backward", q.DType, "gated_bwd");
        bool wide = WideDv(w.D, w.Es);
        int smem = GatedBwdShared(w.D, w.Es, wide);
        RequireShared("gated_attention_backward", w, q.DType, smem, "the chunk backward kernel");
        using var hScratch = savedStates == 0 ? Rent(w.StateBytes) : default;
        using var dh = Rent(w.StateBytes);
        using var fin = savedStates == 0 ? Rent((long)w.N * w.D * w.E * w.Es) : default;
        using var tot = Rent((long)w.N * (w.Chunks + 1) * w.D * w.Es);
        ulong h = savedStates == 0 ? hScratch.Ptr : savedStates;
        if (savedStates == 0) GatedScan(w, q.DType, scanKey.X, Addr(v), G, scanKey.Zc, scale, Addr(s0, true), h, fin.Ptr, reverse: false);
        GatedScan(w, q.DType, Addr(q), Addr(dO), G, 0, scale, Addr(dsT, true), dh.Ptr, Addr(ds0, true), reverse: true);
        if (w.Chunks == 0) return;
        GatedLaunch(kBwd, (uint)w.Chunks, (uint)w.N, 1, smem, Addr(q), kbar, Addr(v), G, flag, h, dh.Ptr, Addr(dO), Addr(dsT, true), fin.Ptr,
            Addr(dq), dkbar, Addr(dv), Addr(dg, true), tot.Ptr, wloc, carry, savedScores, scale, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks,
            w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St, w.Vr.H, w.Vr.Sb, w.Vr.Sh, w.Vr.St, wide ? 1L : 0L);
        if (dg != null)
            Launch("gated", Pick("gated_attention_backward", q.DType, "gated_dg_carry_f32", "gated_dg_carry_f64"), w.ChunkFeatures, false,
                Addr(dg), tot.Ptr, (long)w.N, (long)w.T, (long)w.D, (long)w.Chunks, w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St);
    }

    /// <summary>G (log-decay accumulated inside each chunk) from the per-step g, and the factored-form flag of every chunk.</summary>
    private void GatedCumsum(in GatedDims w, Tensor g, ulong G, ulong flag)
    {
        if (w.Chunks == 0) return;
        GatedLaunch(Pick("gated_attention", g.DType, "gated_cumsum_f32", "gated_cumsum_f64"), (uint)w.Chunks, (uint)w.N, 1, 0,
            Addr(g), G, flag, (long)w.T, (long)w.D, (long)w.Chunks, w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Chunked algorithm of gated.cu (chunks of 64 tokens whatever <paramref name="chunk"/> says): exact float32/float64 products,
    /// or TF32 tensor cores for float32 when <see cref="AllowTf32"/> is set.
    /// </remarks>
    public void GatedAttentionForward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor o, Tensor sT, int chunk)
    {
        var w = new GatedDims(q, v, "gated_attention");
        Pick("gated_attention", q.DType, "", "");
        if (w.Empty) return;
        _dev.MakeCurrent();
        using var G = Rent(w.KeyBytes);
        using var flag = Rent(4L * w.N * w.Chunks);
        GatedCumsum(w, g, G.Ptr, flag.Ptr);
        GatedForwardCore(w, q, Addr(kbar), new ScanKey(Addr(kbar), 0), v, G.Ptr, flag.Ptr, scale, s0, o, sT);
    }

    /// <inheritdoc/>
    /// <remarks>Recomputes the chunk states, scans the state gradients backwards, then differentiates every chunk in parallel.</remarks>
    public void GatedAttentionBackward(Tensor q, Tensor kbar, Tensor v, Tensor g, double scale, Tensor? s0, Tensor dO, Tensor? dsT,
        Tensor dq, Tensor dkbar, Tensor dv, Tensor dg, Tensor? ds0, int chunk)
    {
        var w = new GatedDims(q, v, "gated_attention_backward");
        Pick("gated_attention_backward", q.DType, "", "");
        if (w.Empty) return;
        _dev.MakeCurrent();
        using var G = Rent(w.KeyBytes);
        using var flag = Rent(4L * w.N * w.Chunks);
        GatedCumsum(w, g, G.Ptr, flag.Ptr);
        GatedBackwardCore(w, q, Addr(kbar), new ScanKey(Addr(kbar), 0), v, G.Ptr, flag.Ptr, scale, s0, dO, dsT, dq, Addr(dkbar), dv, dg, ds0);
    }

    /// <summary>
    /// k̄ and the in-chunk log-decay G (both in k's layout), every chunk's Z_ref and Z_last ([N, chunks, 2, d], the forward scan's
    /// log-key form), the chunk flags and the final Z [N, d] from k and the optional initial Z (additive.cu).
    /// </summary>
    private void AdditivePrep(in GatedDims w, Tensor k, Tensor? z0, ulong kbar, ulong G, ulong zc, ulong flag, ulong zT)
    {
        if (w.Chunks == 0) return;
        using var lse = Rent(w.ChunkFeatureBytes(8));
        using var zref = Rent(w.ChunkFeatureBytes(8));
        Driver.Check(Driver.cuMemsetD32Async(flag, 1, (nuint)((long)w.N * w.Chunks), S), "cuMemsetD32Async");
        Launch("additive", Pick("additive_attention", k.DType, "additive_lse_f32", "additive_lse_f64", "additive_lse_bf16"), w.ChunkFeatures, false,
            Addr(k), lse.Ptr, (long)w.N, (long)w.T, (long)w.D, (long)w.Chunks, w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St);
        Launch("additive", Pick("additive_attention", w.Compute, "additive_zref_f32", "additive_zref_f64"), (long)w.N * w.D, false,
            Addr(z0, true), lse.Ptr, zref.Ptr, (long)w.N, (long)w.D, (long)w.Chunks);
        Launch("additive", Pick("additive_attention", k.DType, "additive_prep_f32", "additive_prep_f64", "additive_prep_bf16"), AdditiveLaneWork(w), false,
            Addr(k), zref.Ptr, kbar, G, zc, flag, zT, z0 != null ? 1L : 0L, (long)w.N, (long)w.T, (long)w.D, (long)w.Chunks, w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St);
    }

    /// <summary>Identifies the call that <see cref="AttentionSaved"/> tensors belong to (sizes, layouts, dtype, products, initial Z).</summary>
    private string SavedKey(in GatedDims w, DType t, Tensor? z0) =>
        $"cuda additive {w.N}x{w.T}x{w.D}x{w.E} rows {w.Kr}/{w.Vr} {t.Name()} tf32={AllowTf32} z0={(z0 == null ? "none" : Addr(z0).ToString("x"))}";

    /// <inheritdoc/>
    /// <remarks>
    /// q and k in one <see cref="HeadLayout"/>, v and o in one: heads split from projections are read and written in place.
    /// With <paramref name="save"/>, k̄, G, the chunk flags, the chunk-boundary states ([N, chunks, d, e]) and the chunks' masked
    /// scores ([N, chunks, 64, 64]) are kept for the backward (which then skips the preparation, one scan and the scores).
    /// </remarks>
    public void AdditiveCausalForward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk, AttentionSaved? save = null)
    {
        const string op = "additive_attention";
        var w = new GatedDims(q, v, op);
        w.Check(op, false, (q, "q"), (k, "k"));
        w.Check(op, true, (v, "v"), (o, "o"));
        Pick(op, q.DType, "", "", "");
        SameDType(op, q.DType, (k, "k"), (v, "v"), (o, "o"));
        SameDType(op, w.Compute, (s0, "s0"), (z0, "z0"), (sT, "sT"), (zT, "zT"));
        if (w.Empty) return;
        _dev.MakeCurrent();
        if (save != null && w.Chunks > 0)
        {
            var kbarT = Tensor.Empty([w.N * w.T, w.D], w.Compute, Device);
            var gT = Tensor.Empty([w.N * w.T, w.D], w.Compute, Device);
            var flagT = Tensor.Empty([w.N * w.Chunks], DType.Int32, Device);
            var hT = Tensor.Empty([w.N * w.Chunks, w.D * w.E], w.Compute, Device);
            var aT = Tensor.Empty([w.N * w.Chunks, GatedChunk * GatedChunk], w.Compute, Device);
            using var zcS = Rent(w.ChunkFeatureBytes(2 * w.Es));
            AdditivePrep(w, k, z0, Addr(kbarT), Addr(gT), zcS.Ptr, Addr(flagT), Addr(zT));
            GatedForwardCore(w, q, Addr(kbarT), new ScanKey(Addr(k), zcS.Ptr), v, Addr(gT), Addr(flagT), scale, s0, o, sT, Addr(hT), Addr(aT));
            save.Keep(SavedKey(w, q.DType, z0), kbarT, gT, flagT, hT, aT);
            return;
        }
        using var kbar = Rent(w.KeyBytes);
        using var G = Rent(w.KeyBytes);
        using var zc = Rent(w.ChunkFeatureBytes(2 * w.Es));
        using var flag = Rent(4L * w.N * w.Chunks);
        AdditivePrep(w, k, z0, kbar.Ptr, G.Ptr, zc.Ptr, flag.Ptr, Addr(zT));
        GatedForwardCore(w, q, kbar.Ptr, new ScanKey(Addr(k), zc.Ptr), v, G.Ptr, flag.Ptr, scale, s0, o, sT);
    }

    /// <inheritdoc/>
    /// <remarks>The gated backward gives dq, dv, dS0 and dk̄ minus each chunk's own w; dk and dZ0 follow in closed form (additive.cu). bfloat16 q, k, v, dO: the kernels read them and write bfloat16 dq, dk, dv (float32 inside).</remarks>
    /// <remarks>With the forward's <paramref name="saved"/> tensors for this call, k̄, G, the flags and the states are not computed again.</remarks>
    public void AdditiveCausalBackward(Tensor q, Tensor k, Tensor v, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk, AttentionSaved? saved = null)
    {
        const string op = "additive_attention_backward";
        var w = new GatedDims(q, v, op);
        w.Check(op, false, (q, "q"), (k, "k"), (dq, "dq"), (dk, "dk"));
        w.Check(op, true, (v, "v"), (dO, "dO"), (dv, "dv"));
        Pick(op, q.DType, "", "", "");
        SameDType(op, q.DType, (k, "k"), (v, "v"), (dO, "dO"), (dq, "dq"), (dk, "dk"), (dv, "dv"));
        SameDType(op, w.Compute, (s0, "s0"), (z0, "z0"), (ds0, "ds0"), (dz0, "dz0"));
        if (w.Empty || w.Chunks == 0) return;
        _dev.MakeCurrent();
        var kept = saved?.Get(SavedKey(w, q.DType, z0));
        using var kbarS = kept == null ? Rent(w.KeyBytes) : default;
        using var gS = kept == null ? Rent(w.KeyBytes) : default;
        using var flagS = kept == null ? Rent(4L * w.N * w.Chunks) : default;
        using var zc = kept == null ? Rent(w.ChunkFeatureBytes(2 * w.Es)) : default; // the recomputed states' scan
        ulong kbar = kept == null ? kbarS.Ptr : Addr(kept[0]), G = kept == null ? gS.Ptr : Addr(kept[1]), flag = kept == null ? flagS.Ptr : Addr(kept[2]);
        if (kept == null)
        {
            using var zT = Rent((long)w.N * w.D * w.Es);
            AdditivePrep(w, k, z0, kbar, G, zc.Ptr, flag, zT.Ptr);
        }
        using var u = Rent(w.KeyBytes); // dk̄ − w of each chunk alone
        using var ds0Tmp = s0 != null && ds0 == null && dz0 != null ? s0.EmptyLike() : null;
        var dS0 = ds0 ?? ds0Tmp;
        using var wloc = Rent(w.ChunkFeatureBytes(w.Es));
        using var carry = Rent(w.ChunkFeatureBytes(w.Es));
        GatedBackwardCore(w, q, kbar, kept == null ? new ScanKey(Addr(k), zc.Ptr) : default, v, G, flag, scale, s0, dO, null, dq, u.Ptr, dv, null, dS0, kept == null ? 0 : Addr(kept[3]), wloc.Ptr, carry.Ptr,
            kept == null ? 0 : Addr(kept[4]));
        Launch("additive", Pick("additive_attention_backward", w.Compute, "additive_wchain_f32", "additive_wchain_f64"), (long)w.N * w.D, false,
            wloc.Ptr, carry.Ptr, (long)w.N, (long)w.D, (long)w.Chunks);
        Launch("additive", Pick("additive_attention_backward", k.DType, "additive_dk_f32", "additive_dk_f64", "additive_dk_bf16"), AdditiveLaneWork(w), false,
            kbar, G, u.Ptr, wloc.Ptr, carry.Ptr, Addr(s0, true), Addr(dS0, true), Addr(dk), Addr(dz0, true),
            (long)w.N, (long)w.T, (long)w.D, (long)w.E, (long)w.Chunks, w.Kr.H, w.Kr.Sb, w.Kr.Sh, w.Kr.St);
    }
}
