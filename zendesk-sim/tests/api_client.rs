//! The REST client against the simulator: 429 honoured, 5xx backed off, pages followed.

mod common;

use std::time::{Duration, Instant};

use common::{client, grant_as, world};
use sealdrop_zendesk::api::{ApiError, RetryPolicy};

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_retry_after: Duration::from_secs(5),
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn a_429_is_honoured_with_the_wait_zendesk_asked_for() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token).with_policy(quick());
    w.sim.throttle(2, 1);
    let started = Instant::now();
    let user = api.user(w.agent).await.expect("succeeds after the waits");
    let waited = started.elapsed();
    assert_eq!(user.id, w.agent);
    assert!(
        waited >= Duration::from_secs(2),
        "two Retry-After: 1 answers must cost at least 2 s, took {waited:?}"
    );
    let log = w.sim.api_log();
    let tail: Vec<&str> = log
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|l| l.rsplit(" -> ").next().unwrap_or(""))
        .collect();
    assert_eq!(tail, ["429", "429", "200"]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_fails_at_once_with_the_asked_wait() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token).with_policy(quick());
    w.sim.throttle(1, 3600);
    let started = Instant::now();
    assert_eq!(
        api.user(w.agent).await,
        Err(ApiError::RateLimited {
            retry_after_secs: Some(3600)
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hour-long sleep"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token).with_policy(quick());
    w.sim.fail(2, 503);
    let started = Instant::now();
    assert_eq!(
        api.user(w.customer).await.expect("third try works").id,
        w.customer
    );
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "backoff 20 ms then 40 ms"
    );

    w.sim.fail(10, 502);
    assert_eq!(
        api.user(w.customer).await,
        Err(ApiError::Server { status: 502 })
    );
    let served: Vec<String> = w.sim.api_log().into_iter().rev().take(4).collect();
    assert!(
        served.iter().all(|l| l.ends_with("-> 502")),
        "max_attempts calls, then stop: {served:?}"
    );
    w.sim.fail(0, 503);
}
