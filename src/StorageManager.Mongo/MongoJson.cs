using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.IO;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Payloads and results are JSON text in the model and BSON values in the database. The conversion walks
/// System.Text.Json's tree instead of <c>BsonDocument.Parse</c>, which reads extended JSON and would turn a
/// client's <c>{"$date": ...}</c> or <c>{"$numberLong": ...}</c> into another value than the one sent.
/// </summary>
internal static class MongoJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The text goes back to API clients as JSON, never into HTML, so non-ASCII text stays as written.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static BsonValue ToBson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ToBson(document.RootElement);
    }

    internal static string ToJson(BsonValue value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static BsonValue ToBson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => ToDocument(element),
        JsonValueKind.Array => new BsonArray(element.EnumerateArray().Select(ToBson)),
        JsonValueKind.String => new BsonString(element.GetString()),
        JsonValueKind.Number => ToNumber(element),
        JsonValueKind.True => BsonBoolean.True,
        JsonValueKind.False => BsonBoolean.False,
        JsonValueKind.Null => BsonNull.Value,
        _ => throw new UnreachableException($"A parsed JSON document has no {element.ValueKind} value."),
    };

    private static BsonDocument ToDocument(JsonElement element)
    {
        var document = new BsonDocument();
        foreach (var property in element.EnumerateObject())
        {
            // A repeated name keeps its last value, as JSON.parse and PostgreSQL's jsonb do.
            document[property.Name] = ToBson(property.Value);
        }

        return document;
    }

    private static BsonValue ToNumber(JsonElement element)
    {
        if (element.TryGetInt32(out var int32))
        {
            return new BsonInt32(int32);
        }

        if (element.TryGetInt64(out var int64))
        {
            return new BsonInt64(int64);
        }

        // A double holds every number of ordinary precision; one with more digits than a double keeps is
        // stored as a decimal so that it reads back unchanged.
        var number = element.GetDouble();
        return element.TryGetDecimal(out var exact) && !IsExactDouble(exact, number)
            ? new BsonDecimal128(exact)
            : new BsonDouble(number);
    }

    private static bool IsExactDouble(decimal exact, double number) =>
        decimal.TryParse(number.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture, out var back)
        && back == exact;

    private static void Write(Utf8JsonWriter writer, BsonValue value)
    {
        switch (value)
        {
            case BsonDocument document:
                writer.WriteStartObject();
                foreach (var element in document)
                {
                    writer.WritePropertyName(element.Name);
                    Write(writer, element.Value);
                }

                writer.WriteEndObject();
                break;
            case BsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case BsonString text:
                writer.WriteStringValue(text.Value);
                break;
            case BsonInt32 int32:
                writer.WriteNumberValue(int32.Value);
                break;
            case BsonInt64 int64:
                writer.WriteNumberValue(int64.Value);
                break;
            case BsonDouble number:
                writer.WriteNumberValue(number.Value);
                break;
            case BsonDecimal128 exact:
                writer.WriteNumberValue(Decimal128.ToDecimal(exact.Value));
                break;
            case BsonBoolean boolean:
                writer.WriteBooleanValue(boolean.Value);
                break;
            case BsonNull:
                writer.WriteNullValue();
                break;
            default:
                // Only a value written by hand into the database gets here (a date, an ObjectId, ...).
                writer.WriteRawValue(value.ToJson(new JsonWriterSettings { OutputMode = JsonOutputMode.RelaxedExtendedJson }));
                break;
        }
    }
}
