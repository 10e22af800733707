using RedLockNet.Engine;
using StackExchange.Redis;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>The hash slot rule the multi-lock uses to take resources in one round (Redis Cluster's key hash slot).</summary>
public sealed class LockKeySlotTests
{
    [Theory]
    [InlineData("foo", 12182)] // what CLUSTER KEYSLOT answers on redis-server 7 in cluster mode
    [InlineData("bar", 5061)]
    [InlineData("123456789", 12739)] // 0x31C3, the CRC16/XMODEM check value
    [InlineData("{user1000}.following", 3443)]
    [InlineData("{user1000}.followers", 3443)]
    [InlineData("user1000", 3443)] // the tag alone hashes as the key does
    [InlineData("foo{}{bar}", 8363)] // an empty tag: the whole key
    [InlineData("foo{{bar}}zap", 4015)] // the tag ends at the first '}': "{bar"
    [InlineData("foo{bar", 15278)] // no closing brace: the whole key
    public void The_slot_is_the_crc16_of_the_hash_tag_or_of_the_key(string key, int slot) =>
        Assert.Equal(slot, LockKeys.HashSlot(key));

    [Fact]
    public void Resources_that_start_with_one_tag_share_a_slot_under_the_key_layout_and_others_do_not()
    {
        RedisKey[] tagged = [LockKeys.For("redlock:", "{account}:1"), LockKeys.For("redlock:", "{account}:2")];
        RedisKey[] plain = [LockKeys.For("redlock:", "account:1"), LockKeys.For("redlock:", "account:2")];
        Assert.True(LockKeys.ShareSlot(tagged));
        Assert.False(LockKeys.ShareSlot(plain));
        Assert.True(LockKeys.ShareSlot(plain.AsSpan(0, 1)));
    }
}
