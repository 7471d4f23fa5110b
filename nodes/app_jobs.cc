// AppServer job server (REFERENCE.md, Leader and jobs): the scheduler runs on the
// acting leader only (tick 60 s, next run = now + period + jitter [0, 2 s)) and
// creates jobs "create once"; a watcher on every server polls pending jobs from
// a replica every 15 s and claims one with a compare-and-set on the primary; the
// winner runs it and marks it done. Nothing reclaims the job of a crashed worker.
//
// A server with JobSettings.RunScheduler false runs no scheduler at all, even as
// leader (mattermost/docs#3845: the hazard of that configuration). Two planted
// bugs bring back the schedulers of real incidents (docs/model.md, issue 14):
//  - mm_10502 (before mattermost/mattermost#9174): every server runs the
//    schedulers from its start and knows nothing of the leader.
//  - mm_17508 (between #9174 and #13053): every server runs the loop; next runs
//    are set by a leader notice, cleared by a "not leader" notice, and set by
//    any configuration change, leader or not; the tick does not ask who leads.
#include "base/assert.h"
#include "nodes/app_server.h"

namespace fl {

void AppServer::start_jobs(Env& env) {
  FL_ASSERT(phase_ == Phase::serving);
  // First poll after a random [0, 15 s), then every 15 s.
  env.after(env.rng().jitter(k::kWatcherInterval), TimerTag{kWatcherPoll, 0});
  if (!run_scheduler_) return;
  // mm_10502's Start(): next runs for every type on every server. mm_17508's
  // loop starts with none: the real code of both sides of #13053 set them at
  // Start and cleared a follower's at its first leader notice (a start-as-leader
  // window the fixed model has no more than this one: it schedules from
  // LeaderBegin), so that the bug differs from the fix by its config listener.
  if (bugs_.on(Bug::mm_10502)) {
    reset_next_runs(env);
  } else if (bugs_.on(Bug::mm_17508)) {
    scheduler_timer_ = env.after(k::kSchedulerTick, TimerTag{kSchedulerTick, 0});
  }
}

bool AppServer::schedulers_everywhere() const {
  return bugs_.on(Bug::mm_10502) || bugs_.on(Bug::mm_17508);
}

void AppServer::reset_next_runs(Env& env) {
  FL_ASSERT(run_scheduler_);
  for (const JobTypeSpec& type : job_types_) {
    next_run_[type.type] = env.now() + type.period + env.rng().jitter(k::kScheduleJitter);
  }
  if (scheduler_timer_) env.cancel(*scheduler_timer_);
  scheduler_timer_ = env.after(k::kSchedulerTick, TimerTag{kSchedulerTick, 0});
}

void AppServer::scheduler_leader_notice(Env& env, bool leader) {
  // Only the mm_17508 schedulers listen (mm_10502's predate the notice; the
  // fixed scheduler follows acting_leader_ in update_acting_leader).
  if (!run_scheduler_ || !bugs_.on(Bug::mm_17508) || bugs_.on(Bug::mm_10502)) return;
  if (leader) {
    reset_next_runs(env);
    return;
  }
  next_run_.clear();  // nil: this server schedules nothing until set again
  if (scheduler_timer_) env.cancel(*scheduler_timer_);
  scheduler_timer_ = env.after(k::kSchedulerTick, TimerTag{kSchedulerTick, 0});
}

void AppServer::scheduler_config_changed(Env& env) {
  if (!run_scheduler_ || phase_ != Phase::serving) return;
  if (schedulers_everywhere()) {
    // The pre-fix listener: setNextRunTime on every server, leader or not.
    reset_next_runs(env);
    return;
  }
  // The fixed listener (#13053): only the leader computes its next runs afresh
  // (from now: a configuration change delays the leader's schedule, as it does
  // in the real server).
  if (acting_leader_) reset_next_runs(env);
}

Duration AppServer::job_run_time(const std::string& type) const {
  for (const JobTypeSpec& t : job_types_) {
    if (t.type == type) return t.run_time;
  }
  return seconds(1);  // a type this binary does not schedule: model default
}

void AppServer::scheduler_tick(Env& env) {
  scheduler_timer_.reset();
  FL_ASSERT(run_scheduler_);
  update_acting_leader(env);  // a db_lease leader whose lease ran out stops here
  const bool everywhere = schedulers_everywhere();
  if (!acting_leader_ && !everywhere) return;
  if (scheduler_timer_) return;  // a leader notice in update_acting_leader re-armed the loop
  const Time now = env.now();
  for (const JobTypeSpec& type : job_types_) {
    auto it = next_run_.find(type.type);
    if (it == next_run_.end()) {
      FL_ASSERT_MSG(everywhere, "the acting leader has a next run for every type");
      continue;  // nil (pre-fix: cleared by a "not leader" notice)
    }
    if (now < it->second) continue;
    const bool once = type.create_once && !bugs_.on(Bug::create_job_without_once);
    env.emit(JobScheduled{type.type});
    send_db(env, spec_.datasource, DbJobCreate{type.type, once}, Call::job_create, 0);
    it->second = now + type.period + env.rng().jitter(k::kScheduleJitter);
  }
  scheduler_timer_ = env.after(k::kSchedulerTick, TimerTag{kSchedulerTick, 0});
}

void AppServer::on_job_created(Env& env, const PendingCall& pending, const DbReply& reply) {
  const auto* create = std::get_if<DbJobCreate>(&pending.op);
  FL_ASSERT(create != nullptr);
  if (reply.ok()) {
    const DbJobCreated* result = reply.get<DbJobCreated>();
    FL_ASSERT(result != nullptr);
    // create_once says what the type is, not how this creation was done.
    bool type_once = true;
    for (const JobTypeSpec& t : job_types_) {
      if (t.type == create->type) type_once = t.create_once;
    }
    if (result->created) env.emit(JobCreated{result->job, create->type, type_once});
    return;
  }
  // Store writes retry up to 3 times on a serialization failure (REFERENCE.md).
  if (reply.status == DbStatus::serialization_failure && pending.attempt + 1 < k::kStoreRetries) {
    const RequestId id = send_db(env, spec_.datasource, *create, Call::job_create, 0);
    calls_.at(id).attempt = pending.attempt + 1;
  }
}

void AppServer::watcher_poll(Env& env) {
  if (phase_ != Phase::serving) return;
  // A job is offered only to an idle worker.
  if (!worker_busy_) route_read(env, DbJobListPending{}, Call::job_list, 0);
  env.after(k::kWatcherInterval, TimerTag{kWatcherPoll, 0});
}

void AppServer::on_job_list(Env& env, const DbReply& reply) {
  if (phase_ != Phase::serving || worker_busy_) return;
  const DbJobs* jobs = reply.get<DbJobs>();
  if (!reply.ok() || jobs == nullptr) return;
  for (const JobRow& job : jobs->jobs) {
    if (job.status != JobStatus::pending) continue;
    worker_busy_ = true;
    running_job_ = job.id;
    running_type_ = job.type;
    if (bugs_.on(Bug::job_claim_without_cas)) {
      // The planted bug: it read "pending" (from a replica) and now writes
      // in_progress without checking the row still says pending.
      send_db(env, spec_.datasource, DbJobSetStatus{job.id, JobStatus::in_progress, env.self()},
              Call::job_claim, job.id);
    } else {
      send_db(env, spec_.datasource, DbJobClaim{job.id, env.self()}, Call::job_claim, job.id);
    }
    return;
  }
}

void AppServer::on_job_claim(Env& env, std::uint64_t job, const DbReply& reply) {
  FL_ASSERT(worker_busy_ && running_job_ == job);
  if (!reply.ok()) {
    worker_busy_ = false;  // lost the compare-and-set (or the primary failed)
    return;
  }
  env.emit(JobClaimed{job, running_type_});
  env.emit(JobRunStarted{job, running_type_});
  job_running_ = true;
  env.after(job_run_time(running_type_), TimerTag{kJobRunDone, job});
}

void AppServer::on_job_run_done(Env& env, std::uint64_t job) {
  FL_ASSERT(worker_busy_ && running_job_ == job);
  send_db(env, spec_.datasource, DbJobSetStatus{job, JobStatus::success, env.self()}, Call::job_done, job);
}

void AppServer::on_job_done(Env& env, std::uint64_t job, const DbReply& reply) {
  FL_ASSERT(worker_busy_ && running_job_ == job);
  if (!reply.ok()) {
    // The primary is unavailable: try to record the result again later.
    env.after(k::kWatcherInterval, TimerTag{kJobDoneRetry, job});
    return;
  }
  env.emit(JobFinished{job, running_type_});
  worker_busy_ = false;
  job_running_ = false;
  running_job_ = 0;
  running_type_.clear();
}

}  // namespace fl
