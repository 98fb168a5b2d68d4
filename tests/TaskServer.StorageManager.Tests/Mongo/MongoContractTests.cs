using TaskServer.StorageManager.Tests.Contract;

namespace TaskServer.StorageManager.Tests.Mongo;

public sealed class MongoTaskStoreTests(MongoFixture fixture) : TaskStoreContract(fixture), IClassFixture<MongoFixture>;

public sealed class MongoLeaseStoreTests(MongoFixture fixture) : LeaseStoreContract(fixture), IClassFixture<MongoFixture>;

public sealed class MongoNodeRegistryTests(MongoFixture fixture) : NodeRegistryContract(fixture), IClassFixture<MongoFixture>;

public sealed class MongoStorageProbeTests(MongoFixture fixture) : StorageProbeContract(fixture), IClassFixture<MongoFixture>;

public sealed class MongoFailoverLogTests(MongoFixture fixture) : FailoverLogContract(fixture), IClassFixture<MongoFixture>;
