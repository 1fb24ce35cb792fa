namespace Parley.Bench.Client;

/// <summary>
/// A minimal Server-Sent Events reader for the benchmark: it yields only event names (the <c>event:</c> field), plus
/// the data of <c>error</c> events, from a response stream, with one reusable buffer and no allocation per event.
/// </summary>
internal sealed class SseReader(Stream stream)
{
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    /// <summary>The kinds of event Parley streams.</summary>
    public enum EventKind
    {
        User,
        Delta,
        Assistant,
        Error,
        Other,
    }

    /// <summary>The text of the last <c>data:</c> line (kept for error events only).</summary>
    public string? LastErrorData { get; private set; }

    /// <summary>Reads up to the next <c>event:</c> line; null at the end of the stream.</summary>
    public async ValueTask<EventKind?> ReadEventAsync(CancellationToken cancellationToken)
    {
        var inError = false;
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }

                continue;
            }

            var line = _buffer.AsSpan(_start, newline).TrimEnd((byte)'\r');
            _start += newline + 1;
            if (line.StartsWith("event:"u8))
            {
                var name = line[6..].Trim((byte)' ');
                var kind = name.SequenceEqual("delta"u8) ? EventKind.Delta
                    : name.SequenceEqual("user"u8) ? EventKind.User
                    : name.SequenceEqual("assistant"u8) ? EventKind.Assistant
                    : name.SequenceEqual("error"u8) ? EventKind.Error
                    : EventKind.Other;
                if (kind != EventKind.Error)
                {
                    return kind;
                }

                inError = true;
            }
            else if (inError && line.StartsWith("data:"u8))
            {
                LastErrorData = System.Text.Encoding.UTF8.GetString(line[5..]).Trim();
                return EventKind.Error;
            }
        }
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }
}
