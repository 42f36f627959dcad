namespace LightNet;

/// <summary>Thrown when an op receives tensors of incompatible shapes, dtypes, devices or axes.</summary>
public sealed class ShapeException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the op, the argument and the shapes.</summary>
    public ShapeException(string message) : base(message) { }
    /// <summary>Creates an empty exception.</summary>
    public ShapeException() { }
    /// <summary>Creates the exception wrapping another.</summary>
    public ShapeException(string message, Exception inner) : base(message, inner) { }
}
