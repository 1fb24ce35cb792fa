using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Parley.Engine.Storage;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>The engine's raw SQL names (<see cref="StoreSchema"/>) against the EF Core model that creates the tables, per provider.</summary>
public abstract class StoreSchemaTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public void EveryTableAndColumnTheEngineNamesIsInTheModel()
    {
        using var scope = Factory.Services.CreateScope();
        var model = scope.ServiceProvider.GetRequiredService<ParleyDbContext>().Model;
        var checkedColumns = 0;
        foreach (var (table, columns) in new[]
                 {
                     (StoreSchema.Users, typeof(StoreSchema.UserColumns)),
                     (StoreSchema.Conversations, typeof(StoreSchema.ConversationColumns)),
                     (StoreSchema.Messages, typeof(StoreSchema.MessageColumns)),
                     (StoreSchema.TokenTransactions, typeof(StoreSchema.TokenTransactionColumns)),
                 })
        {
            var entity = model.GetEntityTypes().SingleOrDefault(e => e.GetTableName() == Unquote(table));
            Assert.True(entity is not null, $"No entity maps to the table {table}.");
            var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            var names = entity.GetProperties().Select(p => p.GetColumnName(store)).ToHashSet(StringComparer.Ordinal);
            var constants = columns.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string) && f.Name != nameof(StoreSchema.MessageColumns.All));
            foreach (var field in constants)
            {
                var column = Unquote((string)field.GetRawConstantValue()!);
                Assert.True(names.Contains(column), $"{table} has no column {column} ({columns.Name}.{field.Name}).");
                checkedColumns++;
            }
        }

        Assert.Equal(2 + 11 + StoreSchema.MessageColumns.Count + 7, checkedColumns);
        Assert.Equal(StoreSchema.MessageColumns.Count, StoreSchema.MessageColumns.All.Split(", ").Length);
    }

    private static string Unquote(string quoted) => quoted.Trim('"');
}

public sealed class StoreSchemaOnSqlite(SqliteFixture fixture) : StoreSchemaTests<SqliteFixture>(fixture);

public sealed class StoreSchemaOnPostgreSql(PostgreSqlFixture fixture) : StoreSchemaTests<PostgreSqlFixture>(fixture);
