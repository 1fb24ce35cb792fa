using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Parley.Server.Data.Migrations.PostgreSql
{
    /// <summary>
    /// The Orleans ADO.NET membership table (<c>Cluster:Provider=AdoNet</c>): the query catalogue Orleans reads at start
    /// (<c>OrleansQuery</c>), then the membership tables, functions and queries, following the schema the Orleans project
    /// documents for PostgreSQL (its <c>PostgreSQL-Main.sql</c> and <c>PostgreSQL-Clustering.sql</c>, with the atomic-write
    /// revisions that Microsoft.Orleans.Clustering.AdoNet 10.4 requires, including <c>CleanupDefunctSiloEntryKey</c>).
    /// Raw SQL only: the EF Core model (and its snapshot) does not change.
    /// </summary>
    [DbContext(typeof(PostgresParleyDbContext))]
    [Migration("20261127041500_OrleansClustering")]
    public partial class OrleansClustering : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Main: the catalogue of the queries Orleans runs. Orleans binds them by the names of their parameters and
            // result columns, so those names are the contract; the statements themselves may be tuned.
            migrationBuilder.Sql("""
                CREATE TABLE OrleansQuery
                (
                    QueryKey varchar(64) NOT NULL,
                    QueryText varchar(8000) NOT NULL,
                    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
                );
                """);

            // Clustering: one version row per cluster (DeploymentId = ClusterId), bumped by every membership change, and
            // one row per silo incarnation (address, port, generation).
            migrationBuilder.Sql("""
                CREATE TABLE OrleansMembershipVersionTable
                (
                    DeploymentId varchar(150) NOT NULL,
                    Timestamp timestamptz(3) NOT NULL DEFAULT now(),
                    Version integer NOT NULL DEFAULT 0,
                    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
                );

                CREATE TABLE OrleansMembershipTable
                (
                    DeploymentId varchar(150) NOT NULL,
                    Address varchar(45) NOT NULL,
                    Port integer NOT NULL,
                    Generation integer NOT NULL,
                    SiloName varchar(150) NOT NULL,
                    HostName varchar(150) NOT NULL,
                    Status integer NOT NULL,
                    ProxyPort integer NULL,
                    SuspectTimes varchar(8000) NULL,
                    StartTime timestamptz(3) NOT NULL,
                    IAmAliveTime timestamptz(3) NOT NULL,
                    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
                    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
                        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
                );
                """);

            // Heartbeat: never moves IAmAliveTime backwards and never touches the version (a heartbeat is not a change).
            migrationBuilder.Sql("""
                CREATE FUNCTION update_i_am_alive_time(
                    deployment_id OrleansMembershipTable.DeploymentId%TYPE,
                    address_arg OrleansMembershipTable.Address%TYPE,
                    port_arg OrleansMembershipTable.Port%TYPE,
                    generation_arg OrleansMembershipTable.Generation%TYPE,
                    i_am_alive_time OrleansMembershipTable.IAmAliveTime%TYPE)
                RETURNS void AS
                $func$
                BEGIN
                    UPDATE OrleansMembershipTable AS m
                    SET IAmAliveTime = GREATEST(m.IAmAliveTime, i_am_alive_time)
                    WHERE m.DeploymentId = deployment_id AND deployment_id IS NOT NULL
                      AND m.Address = address_arg AND address_arg IS NOT NULL
                      AND m.Port = port_arg AND port_arg IS NOT NULL
                      AND m.Generation = generation_arg AND generation_arg IS NOT NULL;
                END
                $func$ LANGUAGE plpgsql;
                """);

            // The writes return the number of rows they changed: 0 means "lost the race on the version", and Orleans
            // rereads the table and tries again. A failed write changes nothing (the exception block rolls it back).
            migrationBuilder.Sql("""
                CREATE FUNCTION insert_membership_version(DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE)
                RETURNS TABLE(row_count integer) AS
                $func$
                DECLARE
                    changed int := 0;
                BEGIN
                    BEGIN
                        INSERT INTO OrleansMembershipVersionTable (DeploymentId)
                        SELECT DeploymentIdArg
                        ON CONFLICT (DeploymentId) DO NOTHING;
                        GET DIAGNOSTICS changed = ROW_COUNT;
                        IF changed = 0 THEN
                            RAISE EXCEPTION 'no rows affected, rollback' USING ERRCODE = 'assert_failure';
                        END IF;
                        RETURN QUERY SELECT changed;
                    EXCEPTION WHEN assert_failure THEN
                        RETURN QUERY SELECT changed;
                    END;
                END
                $func$ LANGUAGE plpgsql;

                CREATE FUNCTION insert_membership(
                    DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE,
                    AddressArg OrleansMembershipTable.Address%TYPE,
                    PortArg OrleansMembershipTable.Port%TYPE,
                    GenerationArg OrleansMembershipTable.Generation%TYPE,
                    SiloNameArg OrleansMembershipTable.SiloName%TYPE,
                    HostNameArg OrleansMembershipTable.HostName%TYPE,
                    StatusArg OrleansMembershipTable.Status%TYPE,
                    ProxyPortArg OrleansMembershipTable.ProxyPort%TYPE,
                    StartTimeArg OrleansMembershipTable.StartTime%TYPE,
                    IAmAliveTimeArg OrleansMembershipTable.IAmAliveTime%TYPE,
                    VersionArg OrleansMembershipVersionTable.Version%TYPE)
                RETURNS TABLE(row_count integer) AS
                $func$
                DECLARE
                    changed int := 0;
                BEGIN
                    BEGIN
                        UPDATE OrleansMembershipVersionTable
                        SET Timestamp = now(), Version = Version + 1
                        WHERE DeploymentId = DeploymentIdArg AND DeploymentIdArg IS NOT NULL
                          AND Version = VersionArg AND VersionArg IS NOT NULL AND Version < 2147483647;
                        GET DIAGNOSTICS changed = ROW_COUNT;

                        INSERT INTO OrleansMembershipTable
                            (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
                        SELECT DeploymentIdArg, AddressArg, PortArg, GenerationArg, SiloNameArg, HostNameArg, StatusArg,
                               ProxyPortArg, StartTimeArg, IAmAliveTimeArg
                        WHERE changed > 0
                        ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
                        GET DIAGNOSTICS changed = ROW_COUNT;

                        IF changed = 0 THEN
                            RAISE EXCEPTION 'no rows affected, rollback' USING ERRCODE = 'assert_failure';
                        END IF;
                        RETURN QUERY SELECT changed;
                    EXCEPTION WHEN assert_failure THEN
                        RETURN QUERY SELECT changed;
                    END;
                END
                $func$ LANGUAGE plpgsql;

                CREATE FUNCTION update_membership(
                    DeploymentIdArg OrleansMembershipTable.DeploymentId%TYPE,
                    AddressArg OrleansMembershipTable.Address%TYPE,
                    PortArg OrleansMembershipTable.Port%TYPE,
                    GenerationArg OrleansMembershipTable.Generation%TYPE,
                    StatusArg OrleansMembershipTable.Status%TYPE,
                    SuspectTimesArg OrleansMembershipTable.SuspectTimes%TYPE,
                    IAmAliveTimeArg OrleansMembershipTable.IAmAliveTime%TYPE,
                    VersionArg OrleansMembershipVersionTable.Version%TYPE)
                RETURNS TABLE(row_count integer) AS
                $func$
                DECLARE
                    changed int := 0;
                BEGIN
                    BEGIN
                        UPDATE OrleansMembershipVersionTable
                        SET Timestamp = now(), Version = Version + 1
                        WHERE DeploymentId = DeploymentIdArg AND DeploymentIdArg IS NOT NULL
                          AND Version = VersionArg AND VersionArg IS NOT NULL AND Version < 2147483647;
                        GET DIAGNOSTICS changed = ROW_COUNT;

                        UPDATE OrleansMembershipTable
                        SET Status = StatusArg, SuspectTimes = SuspectTimesArg, IAmAliveTime = GREATEST(IAmAliveTime, IAmAliveTimeArg)
                        WHERE DeploymentId = DeploymentIdArg AND DeploymentIdArg IS NOT NULL
                          AND Address = AddressArg AND AddressArg IS NOT NULL
                          AND Port = PortArg AND PortArg IS NOT NULL
                          AND Generation = GenerationArg AND GenerationArg IS NOT NULL
                          AND changed > 0;
                        GET DIAGNOSTICS changed = ROW_COUNT;

                        IF changed = 0 THEN
                            RAISE EXCEPTION 'no rows affected, rollback' USING ERRCODE = 'assert_failure';
                        END IF;
                        RETURN QUERY SELECT changed;
                    EXCEPTION WHEN assert_failure THEN
                        RETURN QUERY SELECT changed;
                    END;
                END
                $func$ LANGUAGE plpgsql;
                """);

            migrationBuilder.Sql("""
                INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
                ('UpdateIAmAlivetimeKey',
                 'SELECT * FROM update_i_am_alive_time(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime);'),
                ('InsertMembershipVersionKey',
                 'SELECT * FROM insert_membership_version(@DeploymentId);'),
                ('InsertMembershipKey',
                 'SELECT * FROM insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);'),
                ('UpdateMembershipKey',
                 'SELECT * FROM update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);'),
                ('MembershipReadRowKey',
                 'SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                         m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
                  FROM OrleansMembershipVersionTable v
                  LEFT OUTER JOIN OrleansMembershipTable m ON v.DeploymentId = m.DeploymentId
                      AND m.Address = @Address AND @Address IS NOT NULL
                      AND m.Port = @Port AND @Port IS NOT NULL
                      AND m.Generation = @Generation AND @Generation IS NOT NULL
                  WHERE v.DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;'),
                ('MembershipReadAllKey',
                 'SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
                         m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
                  FROM OrleansMembershipVersionTable v
                  LEFT OUTER JOIN OrleansMembershipTable m ON v.DeploymentId = m.DeploymentId
                  WHERE v.DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;'),
                ('DeleteMembershipTableEntriesKey',
                 'DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;
                  DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL;'),
                ('GatewaysQueryKey',
                 'SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
                  WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL
                    AND Status = @Status AND @Status IS NOT NULL AND ProxyPort > 0;'),
                ('CleanupDefunctSiloEntriesKey',
                 'DELETE FROM OrleansMembershipTable
                  WHERE DeploymentId = @DeploymentId AND @DeploymentId IS NOT NULL
                    AND IAmAliveTime < @IAmAliveTime AND StartTime < @IAmAliveTime
                    AND COALESCE(SuspectTimes, '''') = '''' AND Status = 6;'),
                ('CleanupDefunctSiloEntryKey',
                 'DELETE FROM OrleansMembershipTable
                  WHERE DeploymentId = @DeploymentId AND Status = 6
                    AND Address = @Address AND Port = @Port AND Generation = @Generation
                    AND IAmAliveTime = @IAmAliveTime AND StartTime = @StartTime
                    AND COALESCE(SuspectTimes, '''') = COALESCE(@SuspectTimes, '''');');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP FUNCTION IF EXISTS update_membership;
                DROP FUNCTION IF EXISTS insert_membership;
                DROP FUNCTION IF EXISTS insert_membership_version;
                DROP FUNCTION IF EXISTS update_i_am_alive_time;
                DROP TABLE IF EXISTS OrleansMembershipTable;
                DROP TABLE IF EXISTS OrleansMembershipVersionTable;
                DROP TABLE IF EXISTS OrleansQuery;
                """);
        }
    }
}
