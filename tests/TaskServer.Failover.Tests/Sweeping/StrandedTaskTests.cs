using TaskServer.Failover.Sweeping;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Tests.Sweeping;

public sealed class StrandedTaskTests
{
    [Theory]
    [InlineData(TaskState.Queued, JobFate.Pending, false)]
    [InlineData(TaskState.Queued, JobFate.Failed, true)]
    [InlineData(TaskState.Queued, JobFate.Deleted, true)]
    [InlineData(TaskState.Queued, JobFate.Succeeded, true)]
    [InlineData(TaskState.Queued, JobFate.Missing, true)]
    [InlineData(TaskState.Running, JobFate.Pending, false)]
    [InlineData(TaskState.Running, JobFate.Failed, true)]
    [InlineData(TaskState.Running, JobFate.Missing, true)]
    [InlineData(TaskState.Running, JobFate.Succeeded, false)]
    [InlineData(TaskState.Running, JobFate.Deleted, false)]
    [InlineData(TaskState.Succeeded, JobFate.Failed, false)]
    [InlineData(TaskState.Cancelled, JobFate.Deleted, false)]
    public void A_task_is_stranded_when_its_job_can_no_longer_move_it_on(TaskState status, JobFate fate, bool stranded) =>
        Assert.Equal(stranded, Sweeper.IsStranded(status, fate));
}
