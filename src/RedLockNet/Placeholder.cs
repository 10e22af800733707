namespace RedLockNet; /// <summary>x</summary>
public static class Placeholder {}
