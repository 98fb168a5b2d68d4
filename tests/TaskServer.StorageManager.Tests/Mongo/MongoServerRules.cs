using MongoDB.Bson;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>
/// What a MongoDB server refuses or silently does differently, for the commands this provider sends, written down so
/// that a test can hold every command builder to it without a server. Each rule names its source.
/// </summary>
internal static class MongoServerRules
{
    /// <summary>
    /// The stages a pipeline update may use (manual, "Updates with Aggregation Pipeline"; mongodb/mongo
    /// pipeline_d / update_driver: any other stage is refused with InvalidOptions).
    /// </summary>
    internal static readonly IReadOnlySet<string> PipelineUpdateStages = new HashSet<string>(StringComparer.Ordinal)
    {
        "$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith",
    };

    /// <summary>
    /// The aggregation stages a multi-document transaction refuses (manual, "Transactions and Operations", CRUD
    /// operations: aggregate "excluding the following stages"). A fenced write's reads run inside its transaction.
    /// </summary>
    internal static readonly IReadOnlySet<string> StagesRefusedInTransactions = new HashSet<string>(StringComparer.Ordinal)
    {
        "$collStats", "$currentOp", "$indexStats", "$listLocalSessions", "$listSessions", "$merge", "$out", "$planCacheStats",
    };

    /// <summary>System variables a pipeline may read; any other <c>$$</c> name is an undefined variable (error 17276).</summary>
    internal static readonly IReadOnlySet<string> SystemVariables = new HashSet<string>(StringComparer.Ordinal) { "$$NOW", "$$REMOVE", "$$ROOT" };

    /// <summary>
    /// MongoDB refuses <c>$expr</c> anywhere in the query of an update with <c>upsert: true</c>, <c>$or</c> branches
    /// included: QueryFeatureNotAllowed (224), "$expr is not allowed in the query predicate for an upsert"
    /// (mongodb/mongo parsed_writes_common.h; jstests/core/expr.js; DOCS-14158; SERVER-59704). findAndModify takes the
    /// same path.
    /// </summary>
    internal static IEnumerable<string> UpsertQueryViolations(BsonDocument query) =>
        Operators(query).Where(name => name == "$expr").Select(_ => "$expr in an upsert's query (refused with error 224)");

    internal static IEnumerable<string> PipelineUpdateViolations(IEnumerable<BsonDocument> stages, IReadOnlySet<string> fields)
    {
        foreach (var stage in stages)
        {
            var name = stage.GetElement(0).Name;
            if (stage.ElementCount != 1 || !PipelineUpdateStages.Contains(name))
            {
                yield return $"stage {name} is not allowed in a pipeline update";
            }

            foreach (var violation in ExpressionViolations(stage.GetElement(0).Value, fields))
            {
                yield return violation;
            }
        }
    }

    /// <summary>
    /// Inside an aggregation expression a string that starts with <c>$</c> is a field path and one that starts with
    /// <c>$$</c> a variable; a caller's value must be wrapped in <c>$literal</c> (a task named "$5 off" would otherwise
    /// read a field). So every path outside <c>$literal</c> must name a field the collection has, and every variable
    /// must be a system variable.
    /// </summary>
    internal static IEnumerable<string> ExpressionViolations(BsonValue value, IReadOnlySet<string> fields)
    {
        switch (value)
        {
            case BsonDocument document when document.ElementCount == 1 && document.GetElement(0).Name == "$literal":
                yield break;
            case BsonDocument document:
                foreach (var element in document)
                {
                    foreach (var violation in ExpressionViolations(element.Value, fields))
                    {
                        yield return violation;
                    }
                }

                break;
            case BsonArray array:
                foreach (var violation in array.SelectMany(item => ExpressionViolations(item, fields)))
                {
                    yield return violation;
                }

                break;
            case BsonString { Value: var text } when text.StartsWith("$$", StringComparison.Ordinal):
                if (!SystemVariables.Contains(text))
                {
                    yield return $"undefined variable {text}";
                }

                break;
            case BsonString { Value: var text } when text.StartsWith('$'):
                if (!fields.Contains(text[1..].Split('.')[0]))
                {
                    yield return $"field path {text} names no field of the collection (a caller's value outside $literal?)";
                }

                break;
        }
    }

    /// <summary>
    /// A query's values are values (a "$w" worker name is a string), except inside <c>$expr</c>, where the expression
    /// rules hold; its field names must be the collection's.
    /// </summary>
    internal static IEnumerable<string> FilterViolations(BsonDocument query, IReadOnlySet<string> fields)
    {
        foreach (var element in query)
        {
            switch (element.Name)
            {
                case "$expr":
                    foreach (var violation in ExpressionViolations(element.Value, fields))
                    {
                        yield return violation;
                    }

                    break;
                case "$or" or "$and":
                    foreach (var violation in element.Value.AsBsonArray.SelectMany(branch => FilterViolations(branch.AsBsonDocument, fields)))
                    {
                        yield return violation;
                    }

                    break;
                default:
                    if (!fields.Contains(element.Name.Split('.')[0]))
                    {
                        yield return $"query on {element.Name}, no field of the collection";
                    }

                    break;
            }
        }
    }

    internal static IEnumerable<string> TransactionStageViolations(IEnumerable<BsonDocument> stages) =>
        stages.Select(stage => stage.GetElement(0).Name)
            .Where(StagesRefusedInTransactions.Contains)
            .Select(name => $"stage {name} is not allowed in a multi-document transaction");

    /// <summary>
    /// A write meant to take a document's lock (a fence) must change it: MongoDB skips an update that leaves the
    /// document as it was, which takes no write lock and conflicts with nothing (manual, transactions: "lock a
    /// document"; a <c>$$NOW</c> value repeats within a millisecond). Proven here by a field set to itself plus one.
    /// </summary>
    internal static IEnumerable<string> LockTakingUpdateViolations(IEnumerable<BsonDocument> stages)
    {
        var alwaysChanges = stages.Any(stage => stage.GetElement(0).Value is BsonDocument fields && fields.Any(field => IsIncrementOf(field.Name, field.Value)));
        if (!alwaysChanges)
        {
            yield return "no field is certain to change: the update may be a no-op that takes no lock";
        }
    }

    /// <summary>
    /// A filter the planner can serve from an index: some index's first key is constrained by the filter (equality,
    /// range or <c>$in</c> at the top level, or in every <c>$or</c> branch), and a partial index's filter is repeated
    /// in the query (the planner uses a partial index only when the query implies its filter).
    /// </summary>
    internal static bool HasIndex(BsonDocument filter, IEnumerable<(BsonDocument Keys, BsonDocument? Partial)> indexes)
    {
        if (filter.TryGetValue("$or", out var branches))
        {
            return branches.AsBsonArray.All(branch => HasIndex(branch.AsBsonDocument, indexes));
        }

        return indexes.Any(index =>
            filter.Contains(index.Keys.GetElement(0).Name)
            && (index.Partial is null || index.Partial.All(condition => filter.TryGetValue(condition.Name, out var value) && Implies(value, condition.Value))));
    }

    private static bool Implies(BsonValue query, BsonValue partial) =>
        query == partial || (query is BsonDocument ops && partial is BsonDocument partialOps && partialOps.All(op => ops.Contains(op.Name) && ops[op.Name] == op.Value));

    private static bool IsIncrementOf(string field, BsonValue value) =>
        value is BsonDocument { ElementCount: 1 } add && add.GetElement(0).Name == "$add"
        && add[0].AsBsonArray.Any(term => term == "$" + field || (term is BsonDocument ifNull && ifNull.Contains("$ifNull") && ifNull["$ifNull"][0] == "$" + field))
        && add[0].AsBsonArray.Any(term => term.IsNumeric && term.ToDouble() != 0);

    private static IEnumerable<string> Operators(BsonValue value) => value switch
    {
        BsonDocument document => document.Elements.SelectMany(e => e.Name.StartsWith('$') ? Operators(e.Value).Prepend(e.Name) : Operators(e.Value)),
        BsonArray array => array.SelectMany(Operators),
        _ => [],
    };
}
