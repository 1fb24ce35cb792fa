using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Import;

/// <summary>The <c>Import</c> section; validated at start (a value out of range stops the server).</summary>
public sealed class ImportOptions
{
    /// <summary>The largest import file, in bytes: 1 KB – 1 GB, default 50 MB. A larger body is a 413.</summary>
    [Range(1024, 1L << 30)]
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;
}
