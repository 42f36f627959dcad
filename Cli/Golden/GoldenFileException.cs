namespace LightNet.Cli.Golden;

/// <summary>A golden file that cannot be run: unknown kind, missing tensor, missing or ill-typed config key, malformed metadata.</summary>
public sealed class GoldenFileException : IOException
{
    /// <summary>Creates the exception with a message naming the file and the problem.</summary>
    public GoldenFileException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public GoldenFileException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception without a message.</summary>
    public GoldenFileException() { }
}
