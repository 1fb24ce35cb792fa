namespace Parley.Server.Retention;

/// <summary>Registers <see cref="RetentionService"/> and its options.</summary>
public static class RetentionSetup
{
    /// <summary>Binds <c>Retention</c> (validated at start) and runs the cleanup in the background when <c>Retention:MaxAge</c> is set.</summary>
    public static IServiceCollection AddParleyRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration("Retention").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        return services;
    }
}
