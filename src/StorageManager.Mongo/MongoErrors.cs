using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The driver's errors that mean the replica set is out of reach or has no primary now.</summary>
internal sealed class MongoErrors : IStorageErrorClassifier
{
    public bool IsUnavailable(Exception exception) =>
        exception is MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException or MongoWaitQueueFullException;
}
