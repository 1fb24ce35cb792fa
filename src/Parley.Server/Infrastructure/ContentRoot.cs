namespace Parley.Server.Infrastructure;

/// <summary>
/// Where the server looks for <c>appsettings.json</c>, the web UI (<c>wwwroot</c>) and, by default, its data directory:
/// the directory that holds <c>Parley.Server.dll</c>, so a published build serves its UI whatever directory it is started
/// from — unless a content root is configured (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c> or
/// <c>DOTNET_CONTENTROOT</c>), which wins. ASP.NET Core's own default is the working directory.
/// </summary>
public static class ContentRoot
{
    /// <summary>The configuration key of the content root (<c>contentRoot</c>), as ASP.NET Core's host reads it.</summary>
    public const string Key = "contentRoot";

    /// <summary>
    /// The content root to give <see cref="WebApplicationOptions.ContentRootPath"/>: null when one is configured on the
    /// command line or in the environment (the host then uses that one), else <see cref="AppContext.BaseDirectory"/>.
    /// </summary>
    /// <param name="args">The command-line arguments of the process.</param>
    /// <returns>The application's directory, or null to leave the configured content root in force.</returns>
    public static string? Default(string[] args)
    {
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        return string.IsNullOrWhiteSpace(host[Key]) ? AppContext.BaseDirectory : null;
    }
}
