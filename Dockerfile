# One image for every role: Node__Role picks what a container runs (docker-compose.yml sets it).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project and package files first, so the restore layer is rebuilt only when they change, not on every
# source edit. These are the host and the projects it references: a new reference needs its line here.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/StorageManager/TaskServer.StorageManager.csproj src/StorageManager/
COPY src/StorageManager.PostgreSql/TaskServer.StorageManager.PostgreSql.csproj src/StorageManager.PostgreSql/
COPY src/StorageManager.Mongo/TaskServer.StorageManager.Mongo.csproj src/StorageManager.Mongo/
COPY src/LoadManager/TaskServer.LoadManager.csproj src/LoadManager/
COPY src/Health/TaskServer.Health.csproj src/Health/
COPY src/Failover/TaskServer.Failover.csproj src/Failover/
COPY src/Execution/TaskServer.Execution.csproj src/Execution/
COPY src/Host/TaskServer.Host.csproj src/Host/
RUN dotnet restore src/Host/TaskServer.Host.csproj
# The analyzers read .editorconfig, and warnings are errors: the image builds exactly as CI does.
COPY .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Host/TaskServer.Host.csproj -c Release --no-restore -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# curl is what the compose healthchecks run (GET /health/ready): the runtime image has no HTTP client.
# One small package buys a real HTTP check with a timeout; the alternatives are an HTTP request
# hand-written over bash's /dev/tcp, or a probe mode in the host that only containers would use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# The base image's unprivileged user 'app'; it also sets ASPNETCORE_HTTP_PORTS=8080, the port nodes listen on.
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["dotnet", "TaskServer.Host.dll"]
