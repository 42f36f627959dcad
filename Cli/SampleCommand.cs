namespace LightNet.Cli;

/// <summary><c>lightnet sample KIND …</c>: dispatches to the samplers.</summary>
internal static class SampleCommand
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("sample: what? (text, image)");
        return args[0] switch
        {
            "text" => SampleText.Run(args[1..]),
            "image" => SampleImages.Run(args[1..]),
            _ => throw new ArgumentException($"sample: unknown kind '{args[0]}' (available: text, image)"),
        };
    }
}
