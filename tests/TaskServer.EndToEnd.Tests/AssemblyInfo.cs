// Each test starts real node processes; on a 2-core machine running test classes side by side would
// turn timing into flakiness. Classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
