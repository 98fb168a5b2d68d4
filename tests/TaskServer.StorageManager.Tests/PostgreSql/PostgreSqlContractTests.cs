using TaskServer.StorageManager.Tests.Contract;

namespace TaskServer.StorageManager.Tests.PostgreSql;

public sealed class PostgreSqlTaskStoreTests(PostgreSqlFixture fixture) : TaskStoreContract(fixture), IClassFixture<PostgreSqlFixture>;

public sealed class PostgreSqlLeaseStoreTests(PostgreSqlFixture fixture) : LeaseStoreContract(fixture), IClassFixture<PostgreSqlFixture>;

public sealed class PostgreSqlNodeRegistryTests(PostgreSqlFixture fixture) : NodeRegistryContract(fixture), IClassFixture<PostgreSqlFixture>;

public sealed class PostgreSqlStorageProbeTests(PostgreSqlFixture fixture) : StorageProbeContract(fixture), IClassFixture<PostgreSqlFixture>;

public sealed class PostgreSqlFailoverLogTests(PostgreSqlFixture fixture) : FailoverLogContract(fixture), IClassFixture<PostgreSqlFixture>;
