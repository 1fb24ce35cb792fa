using System.Globalization;
using Spectre.Console;

namespace Parley.Bench.Measurement;

/// <summary>
/// A scenario's figures: printed as a table for people and as ONE machine-readable line
/// <c>RESULT scenario=NAME key=value …</c> (invariant culture, no spaces inside values).
/// </summary>
internal sealed class Report(string scenario)
{
    private readonly List<(string Key, string Value, string Label)> _figures = [];
    private readonly List<string> _notes = [];

    public string Scenario { get; } = scenario;

    public Report Add(string key, double value, string label, int decimals = 1) =>
        Add(key, value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), label);

    public Report Add(string key, long value, string label) => Add(key, value.ToString(CultureInfo.InvariantCulture), label);

    public Report Add(string key, string value, string label)
    {
        _figures.Add((key, value.Replace(' ', '_'), label));
        return this;
    }

    /// <summary>Adds p50/p90/p99/max (ms) of <paramref name="latencies"/> under <paramref name="prefix"/> (e.g. "" or "ttfc_").</summary>
    public Report AddLatencies(LatencySummary latencies, string prefix = "", string what = "latency")
    {
        Add(prefix + "p50_ms", latencies.Percentile(50), $"{what} p50 (ms)", 2);
        Add(prefix + "p90_ms", latencies.Percentile(90), $"{what} p90 (ms)", 2);
        Add(prefix + "p99_ms", latencies.Percentile(99), $"{what} p99 (ms)", 2);
        Add(prefix + "max_ms", latencies.Max, $"{what} max (ms)", 2);
        return this;
    }

    public Report Note(string note)
    {
        _notes.Add(note);
        return this;
    }

    /// <summary>True when an <c>errors</c> figure is not 0 (the exit code is then 1).</summary>
    public bool Failed => _figures.Any(f => f.Key == "errors" && f.Value != "0");

    public string ResultLine => "RESULT scenario=" + Scenario + string.Concat(_figures.Select(f => $" {f.Key}={f.Value}"));

    public void Print(IAnsiConsole console)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(Scenario)}[/]");
        table.AddColumn("figure");
        table.AddColumn(new TableColumn("value").RightAligned());
        foreach (var (_, value, label) in _figures)
        {
            table.AddRow(Markup.Escape(label), Markup.Escape(value));
        }

        console.Write(table);
        foreach (var note in _notes)
        {
            console.MarkupLineInterpolated($"[grey]{note}[/]");
        }

        // The machine-readable line goes out unstyled and unwrapped.
        console.Profile.Out.Writer.WriteLine(ResultLine);
        console.Profile.Out.Writer.Flush();
    }
}
