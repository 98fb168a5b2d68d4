namespace TaskServer.Host.ApiDescription;

/// <summary>Endpoint metadata: the security schemes (<see cref="ApiDocument"/>) any one of which an endpoint accepts.</summary>
internal sealed record AcceptedCredentials(IReadOnlyList<string> Schemes);

internal static class AcceptedCredentialsExtensions
{
    public static TBuilder AcceptsCredentials<TBuilder>(this TBuilder builder, params string[] schemes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AcceptedCredentials(schemes));
}
