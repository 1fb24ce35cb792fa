namespace Parley.Testing;

/// <summary>The Parley checkout a test or benchmark runs from: the directory that holds <c>Parley.slnx</c>.</summary>
public static class Repository
{
    /// <summary>The marker file of the repository root.</summary>
    public const string Marker = "Parley.slnx";

    /// <summary>The nearest directory at or above <paramref name="start"/> that holds <see cref="Marker"/>, or null.</summary>
    /// <param name="start">Where to start looking (a file or directory path).</param>
    public static string? FindRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, Marker)))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    /// <summary>The repository this assembly was built in (found above <see cref="AppContext.BaseDirectory"/>).</summary>
    /// <exception cref="InvalidOperationException">This assembly does not run from inside a checkout.</exception>
    public static string Root =>
        FindRoot(AppContext.BaseDirectory) ?? throw new InvalidOperationException($"No {Marker} above {AppContext.BaseDirectory}.");
}
