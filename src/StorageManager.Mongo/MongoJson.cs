using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using TaskServer.StorageManager.Tasks;

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

        // A double holds every number of ordinary precision. One it cannot hold exactly (more digits, or beyond its
        // range, such as 1e400) is stored as a Decimal128, which holds 34 digits and exponents to 6144; a number even
        // that would change is refused rather than stored as another value.
        var text = element.GetRawText();
        var digits = Canonical(text);
        if (element.TryGetDouble(out var number) && double.IsFinite(number) && Canonical(number.ToString("R", CultureInfo.InvariantCulture)) == digits)
        {
            return new BsonDouble(number);
        }

        if (Decimal128.TryParse(text, out var exact) && Canonical(exact.ToString()) == digits)
        {
            return new BsonDecimal128(exact);
        }

        throw new TaskNotStorableException($"The JSON number {Shorten(text)} has more significant digits than MongoDB stores exactly (34).");
    }

    /// <summary>
    /// Converts a payload and refuses one larger than half a document (<see cref="MaxValueBytes"/>), so that a task
    /// never grows past the 16 MiB MongoDB allows a document once its result is stored beside it.
    /// </summary>
    internal static BsonValue ToBoundedBson(string json, string what)
    {
        var value = ToBson(json);
        var size = SizeOf(value);
        return size <= MaxValueBytes
            ? value
            : throw new TaskNotStorableException($"The {what} takes {size} bytes as BSON; MongoDB stores at most {MaxValueBytes} for it in a task.");
    }

    /// <summary>Why a handler's result cannot be stored, or null when it can.</summary>
    internal static string? TooLarge(string json)
    {
        var size = SizeOf(ToBson(json));
        return size <= MaxValueBytes ? null : $"The result takes {size} bytes as BSON; MongoDB stores at most {MaxValueBytes} for a task's result.";
    }

    /// <summary>Half of MongoDB's 16 MiB document, less room for the task's other fields: a payload and a result each fit.</summary>
    internal const int MaxValueBytes = 8 * 1024 * 1024 - 256 * 1024;

    private static int SizeOf(BsonValue value) => new BsonDocument("v", value).ToBson().Length;

    /// <summary>A number as sign, significant digits and exponent, so two spellings of one value compare equal.</summary>
    private static string Canonical(string number)
    {
        var text = number.Trim();
        var negative = text.StartsWith('-');
        text = text.TrimStart('-', '+');
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var point = text.IndexOf('.', StringComparison.Ordinal);
        if (point >= 0)
        {
            exponent -= text.Length - point - 1;
            text = text.Remove(point, 1);
        }

        text = text.TrimStart('0');
        var trailing = text.Length - text.TrimEnd('0').Length;
        text = text.TrimEnd('0');
        return text.Length == 0 ? "0" : string.Create(CultureInfo.InvariantCulture, $"{(negative ? "-" : "")}{text}e{exponent + trailing}");
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";

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
                // Decimal128's own text is a JSON number for every value JSON can carry, beyond decimal's range too.
                writer.WriteRawValue(exact.Value.ToString());
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
