using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>Building blocks shared by the command classes: server time, literals, pipeline updates.</summary>
internal static class MongoCommands
{
    /// <summary>The database server's clock, evaluated once per command.</summary>
    internal const string Now = "$$NOW";

    /// <summary>In a pipeline <c>$set</c>, removes the field instead of storing a null.</summary>
    internal const string Remove = "$$REMOVE";

    private const int DuplicateKeyCode = 11000;

    /// <summary>
    /// A caller's value inside a pipeline: without <c>$literal</c>, a string such as "$5 off" would be read as a
    /// field path and a document as an expression.
    /// </summary>
    internal static BsonDocument Literal(BsonValue value) => new("$literal", value);

    /// <summary>Ids and attempt tokens as binary subtype 4, whose byte order is the order of version 7 ids.</summary>
    internal static BsonBinaryData Binary(Guid id) => new(id, GuidRepresentation.Standard);

    internal static BsonDocument[] Set(BsonDocument fields) => [new BsonDocument("$set", fields)];

    internal static BsonDocument NowMinus(TimeSpan span) => new("$subtract", new BsonArray { Now, Milliseconds(span) });

    internal static BsonDocument NowPlus(TimeSpan span) => new("$add", new BsonArray { Now, Milliseconds(span) });

    internal static BsonInt64 Milliseconds(TimeSpan span) => new(span.Ticks / TimeSpan.TicksPerMillisecond);

    internal static UpdateDefinition<BsonDocument> Update(BsonDocument[] stages) =>
        Builders<BsonDocument>.Update.Pipeline(PipelineDefinition<BsonDocument, BsonDocument>.Create(stages));

    internal static PipelineDefinition<BsonDocument, BsonDocument> Pipeline(BsonDocument[] stages) =>
        PipelineDefinition<BsonDocument, BsonDocument>.Create(stages);

    /// <summary>
    /// A unique index refused the write. findAndModify reports it as a command error, insert and update as a
    /// write error.
    /// </summary>
    internal static bool IsDuplicateKey(MongoException exception) => exception switch
    {
        MongoWriteException write => write.WriteError?.Category == ServerErrorCategory.DuplicateKey,
        MongoCommandException command => command.Code == DuplicateKeyCode,
        _ => false,
    };
}
