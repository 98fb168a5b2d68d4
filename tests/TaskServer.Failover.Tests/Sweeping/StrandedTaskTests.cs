using TaskServer.Failover.Sweeping;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Tests.Sweeping;

public sealed class StrandedTaskTests
{
    // A drain job ends only once every attempt it claimed has its outcome on record: a Running task under a job that
    // ended in any way was left behind. Queued tasks have no job to lose.
    [Theory]
    [InlineData(TaskState.Running, JobFate.Pending, false)]
    [InlineData(TaskState.Running, JobFate.Failed, true)]
    [InlineData(TaskState.Running, JobFate.Missing, true)]
    [InlineData(TaskState.Running, JobFate.Succeeded, true)]
    [InlineData(TaskState.Running, JobFate.Deleted, true)]
    [InlineData(TaskState.Queued, JobFate.Failed, false)]
    [InlineData(TaskState.Queued, JobFate.Missing, false)]
    [InlineData(TaskState.Succeeded, JobFate.Failed, false)]
    [InlineData(TaskState.Cancelled, JobFate.Deleted, false)]
    public void A_task_is_stranded_when_its_job_can_no_longer_move_it_on(TaskState status, JobFate fate, bool stranded) =>
        Assert.Equal(stranded, Sweeper.IsStranded(status, fate));
}
