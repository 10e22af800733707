using RedLockNet.Hosting.Election;

namespace RedLockNet.Tests.Unit.Hosting;

/// <summary>The one format of "which leader": <c>epoch|identity</c>, written by leaders and tick claims, read by standbys.</summary>
public sealed class LeaderRecordTests
{
    [Fact]
    public void A_record_is_stored_as_epoch_bar_identity_and_reads_back()
    {
        var record = new LeaderRecord(42, "host/7/ab|cd");

        Assert.Equal("42|host/7/ab|cd", record.Format());
        Assert.True(LeaderRecord.TryParse(record.Format(), out var read));
        Assert.Equal(record, read); // only the first bar separates: an identity may contain one
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("no-bar")]
    [InlineData("|identity")]
    [InlineData("x1|identity")]
    public void Anything_else_does_not_read(string? value) => Assert.False(LeaderRecord.TryParse(value, out _));

    [Fact]
    public void The_newest_of_the_answers_is_the_one_with_the_highest_epoch()
    {
        Assert.Equal(new LeaderRecord(9, "b"), LeaderRecord.Newest(["3|a", null, "garbage", "9|b", "7|c"]));
        Assert.Null(LeaderRecord.Newest([null, "garbage"]));
    }
}
