namespace LightNet;

/// <summary>
/// A backend that runs LightNet's additive attention with the MD-LRPE expansion fused into the kernels, and the
/// non-causal form as one kernel. Tensors are contiguous, flattened to [N, T, dim]; angles are [T, d]. With angles
/// the recurrent state is [N, 2d, e]. Backends without it get the same results from a composition of ops
/// (<see cref="AdditiveAttention.HasFusedKernels"/>).
/// </summary>
public interface IFusedAttentionBackend
{
    /// <summary>Causal additive attention with MD-LRPE on q and k̄ (decays tiled over both halves).</summary>
    void AdditiveCausalLrpeForward(Tensor q, Tensor k, Tensor v, Tensor angles, double scale, Tensor? s0, Tensor? z0, Tensor o, Tensor sT, Tensor zT, int chunk);

    /// <summary>Backward of <see cref="AdditiveCausalLrpeForward"/>: dq, dk, dv and, with an initial state, dS0 [N, 2d, e] and dZ0.</summary>
    void AdditiveCausalLrpeBackward(Tensor q, Tensor k, Tensor v, Tensor angles, double scale, Tensor? s0, Tensor? z0, Tensor dO,
        Tensor dq, Tensor dk, Tensor dv, Tensor? ds0, Tensor? dz0, int chunk);

    /// <summary>Non-causal <c>O = α φ(Q) φ(softmax_T(K))ᵀ V</c> with φ = MD-LRPE (or identity when angles is null).</summary>
    void AdditiveNonCausalForward(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor o);

    /// <summary>Backward of <see cref="AdditiveNonCausalForward"/>.</summary>
    void AdditiveNonCausalBackward(Tensor q, Tensor k, Tensor v, Tensor? angles, double scale, Tensor dO, Tensor dq, Tensor dk, Tensor dv);
}
