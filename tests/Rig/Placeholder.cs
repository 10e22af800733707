namespace RedLockNet.TestRig; public static class Placeholder {}
