using System.Diagnostics;

namespace LightNet.Models.Data;

/// <summary>Runs a command-line tool (apt-get, dpkg-deb, npm) and turns its absence or failure into a clear error.</summary>
public static class ExternalTool
{
    /// <summary>
    /// Runs <paramref name="tool"/> with <paramref name="args"/> in <paramref name="workDir"/> and returns its standard output.
    /// Throws <see cref="InvalidOperationException"/> when the tool is not installed or exits non-zero.
    /// </summary>
    public static string Run(string tool, IReadOnlyList<string> args, string workDir, string? installHint = null)
    {
        var psi = new ProcessStartInfo(tool)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process? p;
        try
        {
            p = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{tool}' is needed to fetch this data set but could not be started ({e.Message})" +
                (installHint != null ? $"; {installHint}" : ""), e);
        }
        if (p == null) throw new InvalidOperationException($"'{tool}' could not be started");
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var err = stderr.GetAwaiter().GetResult();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"'{tool} {string.Join(' ', args)}' failed with exit code {p.ExitCode}: {Tail(err.Length > 0 ? err : stdout)}");
            return stdout;
        }
    }

    private static string Tail(string s)
    {
        s = s.Trim();
        return s.Length <= 600 ? s : "…" + s[^600..];
    }
}
