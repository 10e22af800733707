using RedLockNet.Idempotency;

namespace RedLockNet.Tests.Unit.Security;

/// <summary>A completion record read from a node is only believed in its exact format; anything else is no record, never an exception.</summary>
public sealed class HostileRecordTests
{
    [Theory]
    [InlineData("v1|1|99999999999999999|ok|AA==")]   // a completion time past year 9999
    [InlineData("v1|1|-99999999999999999|ok|AA==")]
    [InlineData("v1|99999999999999999999|1|ok|AA==")] // a token past long
    [InlineData("v1|1|1|ok|not base64!")]
    [InlineData("v1|1|1|maybe|AA==")]
    [InlineData("v2|1|1|ok|AA==")]
    [InlineData("v1|1|1|ok")]
    [InlineData("")]
    [InlineData("hostile")]
    public void A_value_that_is_not_a_record_reads_as_none(string value) => Assert.Null(CompletionRecord.Parse(value));

    [Fact]
    public void A_record_reads_back_as_written()
    {
        var record = new CompletionRecord(7, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), true, [1, 2, 3]);
        Assert.Equivalent(record, CompletionRecord.Parse(record.Format()));
    }
}
