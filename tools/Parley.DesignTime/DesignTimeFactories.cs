using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Parley.Server.Data;

namespace Parley.DesignTime;

/// <summary>Builds the SQLite context for <c>dotnet ef</c>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteParleyDbContext>
{
    /// <inheritdoc />
    public SqliteParleyDbContext CreateDbContext(string[] args) => new(
        new DbContextOptionsBuilder<SqliteParleyDbContext>()
            .UseSqlite("Data Source=design.db", o => o.MigrationsAssembly("Parley.Server"))
            .Options);
}

/// <summary>Builds the PostgreSQL context for <c>dotnet ef</c>.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresParleyDbContext>
{
    /// <inheritdoc />
    public PostgresParleyDbContext CreateDbContext(string[] args) => new(
        new DbContextOptionsBuilder<PostgresParleyDbContext>()
            .UseNpgsql("Host=localhost;Database=design", o => o.MigrationsAssembly("Parley.Server"))
            .Options);
}

internal static class Program
{
    private static void Main()
    {
    }
}
