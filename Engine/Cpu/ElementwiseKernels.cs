using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LightNet.Cpu;

/// <summary>Unary, binary and select kernels on the CPU (TensorPrimitives does the SIMD width cascade).</summary>
internal static unsafe class ElementwiseKernels
{
    private const int Grain = 1 << 16;

    public static void Unary<T>(UnaryOp op, T* x, T* y, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, py = (nint)y;
        bool streaming = n * sizeof(T) >= StreamingBytes;
        Parallelism.ForChunks(n, Grain, (s, len) =>
        {
            var xs = new ReadOnlySpan<T>((T*)px + s, len);
            var ys = new Span<T>((T*)py + s, len);
            UnarySpan(op, xs, ys, streaming);
        });
    }

    /// <summary>Outputs at least this large are written with non-temporal stores where the kernel has them (nothing would still be cached).</summary>
    private const long StreamingBytes = 32L << 20;

    private static void UnarySpan<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, bool streaming) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && op is UnaryOp.Exp or UnaryOp.Sigmoid or UnaryOp.Silu)
        {
            var xf = MemoryMarshal.Cast<T, float>(x);
            var yf = MemoryMarshal.Cast<T, float>(y);
            if (op == UnaryOp.Exp) FastExp.Exp(xf, yf, streaming);
            else if (op == UnaryOp.Sigmoid) FastExp.Sigmoid(xf, yf, streaming);
            else FastExp.Silu(xf, yf, streaming);
            if (streaming && Sse.IsSupported) Sse.StoreFence();
            return;
        }
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Silu:
                if (Overlaps(x, y))
                {
                    var tmp = ArrayPool<T>.Shared.Rent(x.Length);
                    TensorPrimitives.Sigmoid(x, tmp.AsSpan(0, x.Length));
                    TensorPrimitives.Multiply(x, tmp.AsSpan(0, x.Length), y);
                    ArrayPool<T>.Shared.Return(tmp);
                }
                else
                {
                    TensorPrimitives.Sigmoid(x, y);
                    TensorPrimitives.Multiply(x, y, y);
                }
                break;
            case UnaryOp.Gelu:
                for (int i = 0; i < x.Length; i++)
                {
                    double v = double.CreateTruncating(x[i]);
                    y[i] = T.CreateTruncating(0.5 * v * (1.0 + MathNet.Numerics.SpecialFunctions.Erf(v * 0.70710678118654752440)));
                }
                break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Sin: TensorPrimitives.Sin(x, y); break;
            case UnaryOp.Cos: TensorPrimitives.Cos(x, y); break;
            default: throw new NotSupportedException($"unary op {op}");
        }
    }

    private static bool Overlaps<T>(ReadOnlySpan<T> a, Span<T> b) => a.Overlaps(b);

    /// <summary>y = SiLU(gate)·up, one pass (float32 through <see cref="FastExp"/>).</summary>
    public static void SwiGlu<T>(T* gate, T* up, T* y, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pa = (nint)gate, pb = (nint)up, py = (nint)y;
        bool streaming = n * sizeof(T) >= StreamingBytes;
        Parallelism.ForChunks(n, Grain, (s, len) =>
        {
            var a = new ReadOnlySpan<T>((T*)pa + s, len);
            var b = new ReadOnlySpan<T>((T*)pb + s, len);
            var ys = new Span<T>((T*)py + s, len);
            if (typeof(T) == typeof(float))
            {
                FastExp.SwiGlu(MemoryMarshal.Cast<T, float>(a), MemoryMarshal.Cast<T, float>(b), MemoryMarshal.Cast<T, float>(ys), streaming);
                if (streaming && Sse.IsSupported) Sse.StoreFence();
                return;
            }
            for (int i = 0; i < len; i++)
            {
                T sg = T.One / (T.One + T.Exp(-a[i]));
                ys[i] = a[i] * sg * b[i];
            }
        });
    }

    /// <summary>dGate = dy·up·SiLU'(gate), dUp = dy·SiLU(gate), one pass.</summary>
    public static void SwiGluBackward<T>(T* gate, T* up, T* dy, T* dGate, T* dUp, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pa = (nint)gate, pb = (nint)up, pg = (nint)dy, pda = (nint)dGate, pdb = (nint)dUp;
        Parallelism.ForChunks(n, Grain, (s, len) =>
        {
            var a = new ReadOnlySpan<T>((T*)pa + s, len);
            var b = new ReadOnlySpan<T>((T*)pb + s, len);
            var g = new ReadOnlySpan<T>((T*)pg + s, len);
            var da = new Span<T>((T*)pda + s, len);
            var db = new Span<T>((T*)pdb + s, len);
            if (typeof(T) == typeof(float))
            {
                FastExp.SwiGluBackward(MemoryMarshal.Cast<T, float>(a), MemoryMarshal.Cast<T, float>(b), MemoryMarshal.Cast<T, float>(g),
                    MemoryMarshal.Cast<T, float>(da), MemoryMarshal.Cast<T, float>(db));
                return;
            }
            for (int i = 0; i < len; i++)
            {
                T sg = T.One / (T.One + T.Exp(-a[i]));
                T gi = g[i], bi = b[i], ai = a[i];
                db[i] = gi * ai * sg;
                da[i] = gi * bi * sg * (T.One + ai * (T.One - sg));
            }
        });
    }

    public static void UnaryBackward<T>(UnaryOp op, T* x, T* y, T* dy, T* dx, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint px = (nint)x, py = (nint)y, pdy = (nint)dy, pdx = (nint)dx;
        bool streaming = n * sizeof(T) >= StreamingBytes;
        Parallelism.ForChunks(n, Grain, (s, len) =>
        {
            var xs = new ReadOnlySpan<T>((T*)px + s, len);
            var ys = new ReadOnlySpan<T>((T*)py + s, len);
            var g = new ReadOnlySpan<T>((T*)pdy + s, len);
            var d = new Span<T>((T*)pdx + s, len);
            var tmpArr = ArrayPool<T>.Shared.Rent(len);
            var t = tmpArr.AsSpan(0, len);
            switch (op)
            {
                case UnaryOp.Neg: TensorPrimitives.Negate(g, d); break;
                case UnaryOp.Exp: TensorPrimitives.Multiply(g, ys, d); break;
                case UnaryOp.Log: TensorPrimitives.Divide(g, xs, d); break;
                case UnaryOp.Sqrt: TensorPrimitives.Divide(g, ys, t); TensorPrimitives.Multiply(t, T.CreateTruncating(0.5), d); break;
                case UnaryOp.Rsqrt:
                    TensorPrimitives.Multiply(ys, ys, t); TensorPrimitives.Multiply(t, ys, t);
                    TensorPrimitives.Multiply(t, g, t); TensorPrimitives.Multiply(t, T.CreateTruncating(-0.5), d); break;
                case UnaryOp.Tanh:
                    TensorPrimitives.Multiply(ys, ys, t); TensorPrimitives.Subtract(T.One, t, t); TensorPrimitives.Multiply(t, g, d); break;
                case UnaryOp.Sigmoid:
                    TensorPrimitives.Subtract(T.One, ys, t); TensorPrimitives.Multiply(t, ys, t); TensorPrimitives.Multiply(t, g, d); break;
                case UnaryOp.Silu when typeof(T) == typeof(float):
                    FastExp.SiluBackward(MemoryMarshal.Cast<T, float>(xs), MemoryMarshal.Cast<T, float>(g), MemoryMarshal.Cast<T, float>(d), streaming);
                    if (streaming && Sse.IsSupported) Sse.StoreFence();
                    break;
                case UnaryOp.Silu:
                    // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
                    TensorPrimitives.Sigmoid(xs, t);
                    for (int i = 0; i < len; i++) d[i] = g[i] * t[i] * (T.One + xs[i] * (T.One - t[i]));
                    break;
                case UnaryOp.Gelu:
                    for (int i = 0; i < len; i++)
                    {
                        double v = double.CreateTruncating(xs[i]);
                        double cdf = 0.5 * (1.0 + MathNet.Numerics.SpecialFunctions.Erf(v * 0.70710678118654752440));
                        double pdf = Math.Exp(-0.5 * v * v) * 0.39894228040143267794;
                        d[i] = g[i] * T.CreateTruncating(cdf + v * pdf);
                    }
                    break;
                case UnaryOp.Relu:
                    for (int i = 0; i < len; i++) d[i] = xs[i] > T.Zero ? g[i] : T.Zero;
                    break;
                case UnaryOp.Abs:
                    for (int i = 0; i < len; i++) d[i] = xs[i] > T.Zero ? g[i] : xs[i] < T.Zero ? -g[i] : T.Zero;
                    break;
                case UnaryOp.Square: TensorPrimitives.Multiply(xs, g, t); TensorPrimitives.Multiply(t, T.CreateTruncating(2), d); break;
                case UnaryOp.Reciprocal: TensorPrimitives.Multiply(ys, ys, t); TensorPrimitives.Multiply(t, g, t); TensorPrimitives.Negate(t, d); break;
                case UnaryOp.Sin: TensorPrimitives.Cos(xs, t); TensorPrimitives.Multiply(t, g, d); break;
                case UnaryOp.Cos: TensorPrimitives.Sin(xs, t); TensorPrimitives.Multiply(t, g, t); TensorPrimitives.Negate(t, d); break;
                default: throw new NotSupportedException($"unary backward {op}");
            }
            ArrayPool<T>.Shared.Return(tmpArr);
        });
    }

    public static void Binary<T>(BinaryOp op, Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var plan = new StridedRows(y.ShapeArray, a.StrideArray, b.StrideArray, y.StrideArray);
        nint pa = (nint)a.Ptr<T>(), pb = (nint)b.Ptr<T>(), py = (nint)y.Ptr<T>();
        long sa = plan.RowStrides[0], sb = plan.RowStrides[1], sy = plan.RowStrides[2];
        plan.ForPieces(Grain, (r, start, len) =>
        {
            T* ra = (T*)pa + plan.Offset(0, r) + start * sa, rb = (T*)pb + plan.Offset(1, r) + start * sb, ry = (T*)py + plan.Offset(2, r) + start * sy;
            if (sy == 1 && (sa == 1 || sa == 0) && (sb == 1 || sb == 0) && IsVectorOp(op))
                BinaryRow(op, ra, sa, rb, sb, new Span<T>(ry, len));
            else
                for (int i = 0; i < len; i++) ry[i * sy] = Scalar(op, ra[i * sa], rb[i * sb]);
        });
    }

    private static bool IsVectorOp(BinaryOp op) => op is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div or BinaryOp.Max or BinaryOp.Min or BinaryOp.Pow;

    private static void BinaryRow<T>(BinaryOp op, T* a, long sa, T* b, long sb, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (sa == 0 && sb == 0) { y.Fill(Scalar(op, *a, *b)); return; }
        if (sa == 1 && sb == 1)
        {
            var x1 = new ReadOnlySpan<T>(a, n);
            var x2 = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, x2, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, x2, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, x2, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, x2, y); return;
                case BinaryOp.Max: TensorPrimitives.Max(x1, x2, y); return;
                case BinaryOp.Min: TensorPrimitives.Min(x1, x2, y); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(x1, x2, y); return;
            }
        }
        else if (sb == 0)
        {
            var x1 = new ReadOnlySpan<T>(a, n);
            T s = *b;
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, s, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, s, y); return;
                case BinaryOp.Max: TensorPrimitives.Max(x1, s, y); return;
                case BinaryOp.Min: TensorPrimitives.Min(x1, s, y); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(x1, s, y); return;
            }
        }
        else
        {
            T s = *a;
            var x2 = new ReadOnlySpan<T>(b, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x2, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, x2, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x2, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(s, x2, y); return;
                case BinaryOp.Max: TensorPrimitives.Max(x2, s, y); return;
                case BinaryOp.Min: TensorPrimitives.Min(x2, s, y); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(s, x2, y); return;
            }
        }
        throw new NotSupportedException($"binary op {op}");
    }

    private static T Scalar<T>(BinaryOp op, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Pow => T.Pow(a, b),
        BinaryOp.Max => T.IsNaN(a) || T.IsNaN(b) ? T.NaN : T.Max(a, b),
        BinaryOp.Min => T.IsNaN(a) || T.IsNaN(b) ? T.NaN : T.Min(a, b),
        BinaryOp.Eq => a == b ? T.One : T.Zero,
        BinaryOp.Ne => a != b ? T.One : T.Zero,
        BinaryOp.Lt => a < b ? T.One : T.Zero,
        BinaryOp.Le => a <= b ? T.One : T.Zero,
        BinaryOp.Gt => a > b ? T.One : T.Zero,
        BinaryOp.Ge => a >= b ? T.One : T.Zero,
        _ => throw new NotSupportedException($"binary op {op}"),
    };

    public static void Where<T>(Tensor c, Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var plan = new StridedRows(y.ShapeArray, c.StrideArray, a.StrideArray, b.StrideArray, y.StrideArray);
        nint pc = (nint)c.Ptr<T>(), pa = (nint)a.Ptr<T>(), pb = (nint)b.Ptr<T>(), py = (nint)y.Ptr<T>();
        var s = plan.RowStrides;
        plan.ForPieces(Grain, (r, start, len) =>
        {
            T* rc = (T*)pc + plan.Offset(0, r) + start * s[0], ra = (T*)pa + plan.Offset(1, r) + start * s[1],
                rb = (T*)pb + plan.Offset(2, r) + start * s[2], ry = (T*)py + plan.Offset(3, r) + start * s[3];
            for (int i = 0; i < len; i++) ry[i * s[3]] = rc[i * s[0]] != T.Zero ? ra[i * s[1]] : rb[i * s[2]];
        });
    }
}
