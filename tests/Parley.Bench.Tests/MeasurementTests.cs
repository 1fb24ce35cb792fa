using System.Diagnostics;
using System.Text;
using Parley.Bench.Client;
using Parley.Bench.Measurement;

namespace Parley.Bench.Tests;

/// <summary>The benchmark's own arithmetic and parsing, without a server.</summary>
public sealed class MeasurementTests
{
    [Fact]
    public void PercentilesUseTheNearestRank()
    {
        var log = new LatencyLog(4);
        for (var ms = 1; ms <= 100; ms++)
        {
            log.Add(Stopwatch.Frequency * ms / 1000);
        }

        var summary = LatencySummary.From([log]);

        Assert.Equal(100, summary.Count);
        Assert.Equal(50, summary.Percentile(50), 3);
        Assert.Equal(99, summary.Percentile(99), 3);
        Assert.Equal(100, summary.Max, 3);
    }

    [Fact]
    public async Task SseReaderFindsEveryEventWhateverTheChunkBoundaries()
    {
        const string stream =
            "event: user\ndata: {\"a\":1}\n\nevent: delta\ndata: {\"text\":\"He\"}\n\nevent: delta\r\ndata: {\"text\":\"llo\"}\r\n\r\n" +
            "event: assistant\ndata: {\"b\":2}\n\n";
        var bytes = Encoding.UTF8.GetBytes(stream);
        for (var chunk = 1; chunk <= bytes.Length; chunk += 7)
        {
            var reader = new SseReader(new ChunkedStream(bytes, chunk));
            var kinds = new List<SseReader.EventKind>();
            while (await reader.ReadEventAsync(TestContext.Current.CancellationToken) is { } kind)
            {
                kinds.Add(kind);
            }

            Assert.Equal([SseReader.EventKind.User, SseReader.EventKind.Delta, SseReader.EventKind.Delta, SseReader.EventKind.Assistant], kinds);
        }
    }

    [Fact]
    public async Task SseReaderReportsTheDataOfAnErrorEvent()
    {
        var reader = new SseReader(new MemoryStream(Encoding.UTF8.GetBytes("event: user\ndata: {}\n\nevent: error\ndata: {\"status\":502}\n\n")));

        Assert.Equal(SseReader.EventKind.User, await reader.ReadEventAsync(TestContext.Current.CancellationToken));
        Assert.Equal(SseReader.EventKind.Error, await reader.ReadEventAsync(TestContext.Current.CancellationToken));
        Assert.Equal("{\"status\":502}", reader.LastErrorData);
    }

    [Fact]
    public void ReportPrintsOneResultLineWithoutSpacesInValues()
    {
        var report = new Report("turns").Add("turns_per_s", 1234.56, "turns per second", 0).Add("errors", 0, "errors").Add("target", "self-hosted, SQLite", "server");

        Assert.Equal("RESULT scenario=turns turns_per_s=1235 errors=0 target=self-hosted,_SQLite", report.ResultLine);
        Assert.False(report.Failed);
        Assert.True(new Report("x").Add("errors", 2, "errors").Failed);
    }

    /// <summary>Returns at most <c>chunk</c> bytes per read, like a network stream.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}
