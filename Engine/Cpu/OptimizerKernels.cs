using System.Numerics;

namespace LightNet.Cpu;

/// <summary>Fused optimizer updates: one pass over parameter, gradient and state per element chunk.</summary>
internal static unsafe class OptimizerKernels
{
    public static void AdamW<T>(T* p, T* g, T* m, T* v, long n, AdamWStep h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T b1 = T.CreateTruncating(h.Beta1), b2 = T.CreateTruncating(h.Beta2);
        T c1 = T.One - b1, c2 = T.One - b2;
        double bc1 = 1 - Math.Pow(h.Beta1, h.Step), bc2 = 1 - Math.Pow(h.Beta2, h.Step);
        T stepSize = T.CreateTruncating(h.Lr / bc1), invSqrtBc2 = T.CreateTruncating(1 / Math.Sqrt(bc2));
        T eps = T.CreateTruncating(h.Eps), decay = T.CreateTruncating(1 - h.Lr * h.WeightDecay);
        nint pp = (nint)p, pg = (nint)g, pm = (nint)m, pv = (nint)v;
        Parallelism.ForChunks(n, 1 << 15, (s, len) =>
        {
            T* P = (T*)pp + s, G = (T*)pg + s, M = (T*)pm + s, V = (T*)pv + s;
            for (int i = 0; i < len; i++)
            {
                T gi = G[i];
                T mi = b1 * M[i] + c1 * gi;
                T vi = b2 * V[i] + c2 * gi * gi;
                M[i] = mi;
                V[i] = vi;
                P[i] = P[i] * decay - stepSize * mi / (T.Sqrt(vi) * invSqrtBc2 + eps);
            }
        });
    }

    public static void Sgd<T>(T* p, T* g, T* buf, long n, double lr, double momentum, double weightDecay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T mu = T.CreateTruncating(momentum), wd = T.CreateTruncating(weightDecay), l = T.CreateTruncating(lr);
        nint pp = (nint)p, pg = (nint)g, pb = (nint)buf;
        Parallelism.ForChunks(n, 1 << 15, (s, len) =>
        {
            T* P = (T*)pp + s, G = (T*)pg + s, B = pb == 0 ? null : (T*)pb + s;
            for (int i = 0; i < len; i++)
            {
                T d = G[i] + wd * P[i];
                if (B != null) { d = mu * B[i] + d; B[i] = d; }
                P[i] -= l * d;
            }
        });
    }
}
