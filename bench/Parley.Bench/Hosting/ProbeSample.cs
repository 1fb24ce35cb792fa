using System.Globalization;

namespace Parley.Bench.Hosting;

/// <summary>One line written by the startup hook in the server (see Parley.Bench.Probe): runtime counters at a moment.</summary>
internal sealed class ProbeSample
{
    private readonly Dictionary<string, double> _values;

    private ProbeSample(Dictionary<string, double> values) => _values = values;

    public double this[string key] => _values.GetValueOrDefault(key);

    public static ProbeSample? TryRead(string path)
    {
        try
        {
            var line = File.ReadAllText(path).Trim();
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && double.TryParse(pair.AsSpan(equals + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    values[pair[..equals]] = value;
                }
            }

            return values.Count > 0 ? new ProbeSample(values) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>later − earlier for <paramref name="key"/>.</summary>
    public static double Delta(ProbeSample earlier, ProbeSample later, string key) => later[key] - earlier[key];
}
