using LightNet.Autograd;

namespace LightNet.Models.LightNet;

/// <summary>
/// Non-overlapping p×p patches of images [B, C, H, W] as tokens [B, (H/p)·(W/p), C·p·p], each patch ordered (channel,
/// row, column); and back. For video, pt×p×p tubelets of clips [B, C, F, H, W].
/// </summary>
public static class Patches
{
    /// <summary>Images [B, C, H, W] → tokens [B, (H/p)·(W/p), C·p·p]; throws <see cref="ShapeException"/> unless H and W are multiples of p.</summary>
    public static Variable Patchify(Variable images, int p)
    {
        if (images.Rank != 4) throw new ShapeException($"patchify: images must be [B, C, H, W], got {images.Shape}");
        int B = images.Size(0), C = images.Size(1), H = images.Size(2), W = images.Size(3);
        if (p <= 0 || H % p != 0 || W % p != 0) throw new ShapeException($"patchify: image {H}×{W} is not divisible into {p}×{p} patches");
        return images.Reshape(B, C, H / p, p, W / p, p).Permute(0, 2, 4, 1, 3, 5).Reshape(B, (H / p) * (W / p), C * p * p);
    }

    /// <summary>Inverse of <see cref="Patchify"/>: tokens [B, (H/p)·(W/p), C·p·p] → images [B, C, H, W]; throws <see cref="ShapeException"/> on a size mismatch.</summary>
    public static Variable Unpatchify(Variable tokens, int C, int H, int W, int p)
    {
        int B = tokens.Size(0);
        if (tokens.Rank != 3 || tokens.Size(1) != (H / p) * (W / p) || tokens.Size(2) != C * p * p)
            throw new ShapeException($"unpatchify: tokens {tokens.Shape} do not form [{B}, {(H / p) * (W / p)}, {C * p * p}]");
        return tokens.Reshape(B, H / p, W / p, C, p, p).Permute(0, 3, 1, 4, 2, 5).Reshape(B, C, H, W);
    }

    /// <summary>
    /// Clips [B, C, F, H, W] → tokens [B, (F/pt)·(H/p)·(W/p), C·pt·p·p]: non-overlapping tubelets of <paramref name="pt"/>
    /// frames × p × p pixels, tokens in row-major (frame, row, column) tubelet order, each tubelet vector ordered (channel,
    /// frame, row, column), so a Linear on it is a Conv3d with weight [c, C, pt, p, p] and stride (pt, p, p). Throws
    /// <see cref="ShapeException"/> unless F, H and W are multiples of pt, p and p.
    /// </summary>
    public static Variable PatchifyTubelets(Variable clips, int pt, int p)
    {
        if (clips.Rank != 5) throw new ShapeException($"patchify_tubelets: clips must be [B, C, F, H, W], got {clips.Shape}");
        int B = clips.Size(0), C = clips.Size(1), F = clips.Size(2), H = clips.Size(3), W = clips.Size(4);
        if (pt <= 0 || p <= 0 || F % pt != 0 || H % p != 0 || W % p != 0)
            throw new ShapeException($"patchify_tubelets: clip {F}×{H}×{W} is not divisible into {pt}×{p}×{p} tubelets");
        return clips.Reshape(B, C, F / pt, pt, H / p, p, W / p, p).Permute(0, 2, 4, 6, 1, 3, 5, 7).Reshape(B, (F / pt) * (H / p) * (W / p), C * pt * p * p);
    }
}
