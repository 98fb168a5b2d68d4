using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The driver's errors that mean the replica set is out of reach, has no primary now, or could not confirm a write in time.</summary>
internal sealed class MongoErrors : IStorageErrorClassifier
{
    /// <summary>The labels the server and the driver put on errors that a retry of the operation may clear.</summary>
    internal static readonly string[] TransientLabels = ["RetryableWriteError", "TransientTransactionError", "ResetPool", "SystemOverloadedError"];

    public bool IsUnavailable(Exception exception) => exception switch
    {
        MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException
            or MongoWaitQueueFullException or MongoConnectionPoolPausedException => true,
        // A write the primary applied but could not get a majority to confirm (stepped down, lost its secondaries).
        MongoWriteConcernException => true,
        MongoException mongo => TransientLabels.Any(mongo.HasErrorLabel),
        _ => false,
    };
}
