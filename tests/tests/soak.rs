//! The crash soak in its short form (the full one is `mentor-bench soak`): podcasts spoken by
//! the real espeak-ng, quizzes and study guides through the real daemon and the scripted
//! model server, while the daemon is SIGKILLed at random moments and started again and a
//! client keeps chatting. Nothing acknowledged may be lost, duplicated or left behind.

use std::time::Duration;

use mentor_tests::soak::{self, Home, Plan};
use mentor_tests::TestEnv;

#[test]
fn jobs_and_messages_survive_sigkill_at_random_moments() {
    let env = TestEnv::new();
    let mentor = |args: &[&str]| {
        let mut cmd = env.command("mentor");
        cmd.args(args);
        cmd
    };
    let home = Home {
        dirs: env.dirs(),
        mentor: &mentor,
    };
    let plan = Plan {
        jobs: 24,
        kills: 4,
        submit_every: Duration::from_millis(50),
        kill_after: (Duration::from_millis(300), Duration::from_millis(900)),
        model_delay: Duration::from_millis(150),
        seed: 0x5eed,
    };
    let report = soak::run(&home, plan, &|line| eprintln!("[soak] {line}")).expect("the soak ran");
    eprintln!("[soak] {report:#?}");
    assert_eq!(report.jobs, 24);
    assert_eq!(report.kills, 4, "every kill found a daemon to kill");
    assert!(report.messages > 0, "the chatter got messages through");
    assert!(
        report.interrupted > 0,
        "no kill landed in a job: {report:#?}"
    );
    soak::check(&report).expect("a clean soak");
    assert_eq!(
        report.completed, 24,
        "with 50 attempts, every job completes"
    );
}
