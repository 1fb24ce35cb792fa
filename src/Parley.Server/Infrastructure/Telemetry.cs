using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Runtime;
using Parley.Engine;
using Parley.Server.Models;

namespace Parley.Server.Infrastructure;

/// <summary>Metrics, traces and their exporters (section <c>Telemetry</c>); docs/operations.md describes what they show.</summary>
public sealed class TelemetrySettings : IValidatableObject
{
    /// <summary>The Prometheus scrape endpoint.</summary>
    public PrometheusSettings Prometheus { get; set; } = new();

    /// <summary>Record traces (HTTP → grain → bot → commits) even without an OTLP endpoint, for an exporter added in code. Default false:
    /// traces are recorded when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) is set.</summary>
    public bool Tracing { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Prometheus.Path.StartsWith('/') || Prometheus.Path.Length < 2)
        {
            yield return new ValidationResult("Telemetry:Prometheus:Path must start with '/' and name a path, e.g. /metrics.", ["Telemetry:Prometheus:Path"]);
        }

        foreach (var network in Prometheus.AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                yield return new ValidationResult($"Telemetry:Prometheus:AllowedNetworks has '{network}', which is not a network in CIDR notation (e.g. 10.0.0.0/8).",
                    ["Telemetry:Prometheus:AllowedNetworks"]);
            }
        }
    }
}

/// <summary>The Prometheus scrape endpoint (section <c>Telemetry:Prometheus</c>).</summary>
public sealed class PrometheusSettings
{
    /// <summary>Serve the endpoint. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Its path. Default <c>/metrics</c>.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>Networks (CIDR) besides loopback whose callers may scrape, e.g. the Prometheus pods' network. Everyone else gets 404.
    /// A request relayed by a trusted proxy counts as coming from its client (X-Forwarded-For), so the public never reaches it through the proxy.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

/// <summary>
/// OpenTelemetry: ASP.NET Core, HttpClient and runtime instrumentation, the engine's <c>Parley.Engine</c> meter and
/// activity source, Orleans' meter and grain-call spans, the GenAI metrics and spans of the model client
/// (<see cref="BotSetup.TelemetrySource"/>) and <c>parley.cluster.members</c>. Metrics are served on the Prometheus
/// endpoint and, like traces and logs, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard
/// <c>OTEL_*</c> variables configure the exporter).
/// </summary>
public static class Telemetry
{
    /// <summary>The service name in every exported resource.</summary>
    public const string ServiceName = "parley";

    /// <summary>Adds the settings, the cluster gauge and the OpenTelemetry providers.</summary>
    public static WebApplicationBuilder AddParleyTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<TelemetrySettings>().BindConfiguration("Telemetry").ValidateDataAnnotations().ValidateOnStart();
        var settings = configuration.GetSection("Telemetry").Get<TelemetrySettings>() ?? new TelemetrySettings();
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var tracing = IsTracing(configuration);
        builder.Services.AddSingleton<ClusterMembersGauge>();

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: configuration[$"{EngineOptions.SectionName}:NodeId"] ?? Environment.MachineName))
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation()
                    .AddMeter(EngineMetrics.MeterName, "Microsoft.Orleans", BotSetup.TelemetrySource);
                if (settings.Prometheus.Enabled)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (tracing)
        {
            telemetry.WithTracing(traces => traces
                .AddAspNetCoreInstrumentation(asp => asp.Filter = http => !IsScrapeOrProbe(http.Request.Path, settings))
                .AddHttpClientInstrumentation()
                .AddSource(EngineTelemetry.SourceName, BotSetup.TelemetrySource, "Microsoft.Orleans.Application"));
        }

        if (otlp)
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>True when traces are recorded: <c>Telemetry:Tracing</c>, or an OTLP endpoint is set. Orleans then propagates the trace through grain calls.</summary>
    public static bool IsTracing(IConfiguration configuration) =>
        configuration.GetValue<bool>("Telemetry:Tracing")
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);

    /// <summary>Maps the Prometheus endpoint (when enabled) for loopback and <see cref="PrometheusSettings.AllowedNetworks"/>; 404 for anyone else.</summary>
    public static void MapParleyMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<ClusterMembersGauge>(); // creates the gauge
        var settings = app.Services.GetRequiredService<IOptions<TelemetrySettings>>().Value.Prometheus;
        if (!settings.Enabled)
        {
            return;
        }

        var allowed = settings.AllowedNetworks.ConvertAll(network => IPNetwork.Parse(network));
        app.UseWhen(http => http.Request.Path.Equals(settings.Path, StringComparison.OrdinalIgnoreCase),
            branch => branch.Use((http, next) =>
            {
                if (!MayScrape(http.Connection.RemoteIpAddress, allowed))
                {
                    http.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(http);
            }));
        app.UseOpenTelemetryPrometheusScrapingEndpoint(settings.Path);
    }

    /// <summary>True for loopback (and in-memory test hosts, which have no address) and the allowed networks.</summary>
    internal static bool MayScrape(IPAddress? remote, List<IPNetwork> allowed)
    {
        if (remote is null || IPAddress.IsLoopback(remote))
        {
            return true;
        }

        var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
        return allowed.Exists(network => network.Contains(address));
    }

    private static bool IsScrapeOrProbe(PathString path, TelemetrySettings settings) =>
        path.Equals(settings.Prometheus.Path, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");
}

/// <summary>The <c>parley.cluster.members</c> gauge (meter <c>Parley.Engine</c>): silos in this node's membership view, by status.</summary>
internal sealed class ClusterMembersGauge
{
    public ClusterMembersGauge(IMeterFactory meters, IClusterMembershipService membership)
    {
        var meter = meters.Create(EngineMetrics.MeterName);
        meter.CreateObservableGauge("parley.cluster.members", () => Members(membership), "{silo}",
            "Silos in this node's view of the cluster membership, by status (Active, Joining, ShuttingDown, Dead…)");
    }

    private static IEnumerable<Measurement<int>> Members(IClusterMembershipService membership) =>
        membership.CurrentSnapshot.Members.Values
            .GroupBy(member => member.Status)
            .Select(group => new Measurement<int>(group.Count(), new KeyValuePair<string, object?>("status", group.Key.ToString())));
}
