//! The one watch helper (src/k8s/watch.rs) under faults on the fake API
//! server: a dropped watch is resumed, 410 Gone re-lists, 403 is an error,
//! repeated 5xx/429 end as an error after the retry budget (never a hot
//! loop), a silent connection is replaced.

use fakecluster::{FakeCluster, Options};
use scaffold::k8s::watch::{Event, ObjectWatch, Watcher};
use serde_json::json;
use std::time::{Duration, Instant};

fn setup() -> (FakeCluster, tokio::runtime::Runtime, kube::Client) {
    scaffold::install_crypto();
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let opts = scaffold::k8s::kubeconfig::KubeOptions {
        kubeconfig: Some(fc.kubeconfig().to_path_buf()),
        ..Default::default()
    };
    let target = scaffold::k8s::client::Target::resolve(&opts).unwrap();
    let client = rt
        .block_on(scaffold::k8s::client::connect(&target))
        .unwrap()
        .client;
    (fc, rt, client)
}

fn cm(name: &str, v: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"v": v}})
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// The next event, within 10 s.
async fn next(w: &mut Watcher) -> Event {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("an event within 10 s")
        .expect("no error")
}

/// Make open watches silent, and give them time to notice.
async fn stall(fc: &FakeCluster) {
    fc.faults().stall_watches(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn name(o: &serde_json::Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

#[test]
fn lists_then_follows_changes() {
    let (fc, rt, c) = setup();
    fc.seed(cm("a", "1")).unwrap();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        match next(&mut w).await {
            Event::Restarted(items) => assert!(items.iter().any(|o| name(o) == "a")),
            e => panic!("first event must be the list: {e:?}"),
        }
        fc.seed(cm("b", "1")).unwrap();
        match next(&mut w).await {
            Event::Applied(o) => assert_eq!(name(&o), "b"),
            e => panic!("{e:?}"),
        }
        fc.delete("v1", "ConfigMap", "default", "b").unwrap();
        match next(&mut w).await {
            Event::Deleted(o) => assert_eq!(name(&o), "b"),
            e => panic!("{e:?}"),
        }
    });
}

#[test]
fn dropped_watch_resumes_without_relisting_or_losing_events() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.seed(cm("before", "1")).unwrap();
        assert!(matches!(next(&mut w).await, Event::Applied(_)));
        // changed while the watch says nothing, then it drops: the change
        // must come from the resume point of a new connection
        stall(&fc).await;
        fc.seed(cm("during", "1")).unwrap();
        fc.faults().stall_watches(false);
        match next(&mut w).await {
            Event::Applied(o) => assert_eq!(name(&o), "during"),
            e => panic!("{e:?}"),
        }
        assert_eq!(w.relists, 0, "a dropped watch is resumed, not re-listed");
        assert!(w.reconnects >= 1);
    });
}

#[test]
fn gone_after_compaction_relists() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.seed(cm("x", "1")).unwrap();
        assert!(matches!(next(&mut w).await, Event::Applied(_)));
        // the watch drops, the history is compacted, something changes:
        // resuming from the old resourceVersion is 410 Gone
        // the open watch goes silent first, so it cannot deliver the change
        stall(&fc).await;
        fc.seed(cm("y", "1")).unwrap();
        fc.store().compact();
        fc.faults().stall_watches(false);
        match next(&mut w).await {
            Event::Restarted(items) => {
                assert!(items.iter().any(|o| name(o) == "y"), "{items:?}")
            }
            e => panic!("410 must re-list: {e:?}"),
        }
        assert_eq!(w.relists, 1);
        // and it goes on watching from the new list
        fc.seed(cm("z", "1")).unwrap();
        assert!(matches!(next(&mut w).await, Event::Applied(o) if name(&o) == "z"));
    });
}

#[test]
fn gone_inside_the_stream_relists() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.faults().watch_error_next(410, 1);
        fc.faults().drop_watches();
        fc.seed(cm("after", "1")).unwrap();
        match next(&mut w).await {
            Event::Restarted(items) => assert!(items.iter().any(|o| name(o) == "after")),
            e => panic!("{e:?}"),
        }
        assert_eq!(w.relists, 1);
    });
}

#[test]
fn forbidden_in_the_stream_is_an_error_at_once() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.faults().watch_error_next(403, 100);
        fc.faults().drop_watches();
        let t = Instant::now();
        let e = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("403 must not be retried until a timeout")
            .expect_err("403 is an error");
        assert_eq!(e.code(), Some(403), "{e}");
        assert!(e.to_string().contains("configmaps"), "names what: {e}");
        assert!(t.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn repeated_server_errors_end_as_an_error_without_a_hot_loop() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w =
            Watcher::new(&c, CMS, "").with_limits(Duration::from_secs(100), Duration::from_secs(2));
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.reset_request_counts();
        fc.faults().watch_error_next(500, 1000);
        fc.faults().drop_watches();
        let t = Instant::now();
        let e = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("gives up within the budget")
            .expect_err("repeated 500s are an error");
        assert_eq!(e.code(), Some(500), "{e}");
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(1000) && took < Duration::from_secs(5),
            "{took:?}"
        );
        // backoff, not a tight loop: a handful of requests in ~2 s
        let watches = fc.requests("watch", "configmaps");
        assert!((2..=20).contains(&watches), "{watches} watch requests");
    });
}

#[test]
fn throttled_watch_recovers() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "");
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.faults().watch_error_next(429, 3);
        fc.faults().drop_watches();
        fc.seed(cm("later", "1")).unwrap();
        assert!(matches!(next(&mut w).await, Event::Applied(o) if name(&o) == "later"));
    });
}

#[test]
fn throttled_open_then_error_after_the_budget() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w =
            Watcher::new(&c, CMS, "").with_limits(Duration::from_secs(100), Duration::from_secs(1));
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.faults().throttle_next(1000);
        fc.faults().drop_watches();
        let e = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("gives up")
            .expect_err("throttled for longer than the budget");
        assert_eq!(e.code(), Some(429), "{e}");
        fc.faults().throttle_next(0);
    });
}

#[test]
fn silent_connection_is_replaced() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = Watcher::new(&c, CMS, "")
            .with_limits(Duration::from_millis(500), Duration::from_secs(8));
        assert!(matches!(next(&mut w).await, Event::Restarted(_)));
        fc.seed(cm("first", "1")).unwrap();
        assert!(matches!(next(&mut w).await, Event::Applied(_)));
        // the open connection goes silent (half-open): nothing, not even
        // bookmarks; after the idle timeout a new connection delivers the
        // change from the resume point
        stall(&fc).await;
        fc.seed(cm("unseen", "1")).unwrap();
        let t = Instant::now();
        match next(&mut w).await {
            Event::Applied(o) => assert_eq!(name(&o), "unseen"),
            e => panic!("{e:?}"),
        }
        assert!(
            t.elapsed() >= Duration::from_millis(250),
            "{:?}",
            t.elapsed()
        );
        assert!(w.reconnects >= 1);
        assert_eq!(w.relists, 0);
        fc.faults().stall_watches(false);
    });
}

#[test]
fn object_watch_sees_creation_and_deletion() {
    let (fc, rt, c) = setup();
    rt.block_on(async {
        let mut w = ObjectWatch::new(&c, &format!("{CMS}/one"));
        assert!(w.next().await.unwrap().is_none(), "does not exist yet");
        fc.seed(cm("other", "1")).unwrap();
        fc.seed(cm("one", "1")).unwrap();
        let o = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.as_ref().map(name), Some("one"), "only the named object");
        fc.delete("v1", "ConfigMap", "default", "one").unwrap();
        let gone = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert!(gone.is_none());
    });
}

/// A ConfigMap read as a type that knows two fields.
#[derive(serde::Deserialize, Debug)]
struct Slim {
    metadata: SlimMeta,
    #[serde(default)]
    data: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(serde::Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    name: String,
    #[serde(default)]
    resource_version: Option<String>,
}

impl scaffold::k8s::watch::Item for Slim {
    fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
}

/// A watch that reads its objects as a type of its own lists, follows,
/// resumes, re-lists on 410 and fails on 403 like a watch of JSON values
/// (error events are not objects of that type).
#[test]
fn typed_watch_reads_its_type_and_handles_errors_alike() {
    let (fc, rt, c) = setup();
    fc.seed(cm("a", "1")).unwrap();
    rt.block_on(async {
        let mut w: Watcher<Slim> = Watcher::new(&c, CMS, "");
        let ev = tokio::time::timeout(Duration::from_secs(10), w.next()).await;
        match ev.unwrap().unwrap() {
            Event::Restarted(items) => assert!(items.iter().any(|o| o.metadata.name == "a")),
            e => panic!("{e:?}"),
        }
        fc.seed(cm("b", "2")).unwrap();
        match w.next().await.unwrap() {
            Event::Applied(o) => {
                assert_eq!(o.metadata.name, "b");
                assert_eq!(o.data.unwrap()["v"], "2");
            }
            e => panic!("{e:?}"),
        }
        // a dropped watch resumes from the typed object's resourceVersion
        fc.faults().drop_watches();
        fc.seed(cm("c", "3")).unwrap();
        match w.next().await.unwrap() {
            Event::Applied(o) => assert_eq!(o.metadata.name, "c"),
            e => panic!("{e:?}"),
        }
        assert_eq!(w.relists, 0);
        fc.faults().watch_error_next(410, 1);
        fc.faults().drop_watches();
        fc.seed(cm("d", "4")).unwrap();
        match w.next().await.unwrap() {
            Event::Restarted(items) => assert!(items.iter().any(|o| o.metadata.name == "d")),
            e => panic!("{e:?}"),
        }
        assert_eq!(w.relists, 1);
        fc.faults().watch_error_next(403, 100);
        fc.faults().drop_watches();
        let e = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("403 is not retried")
            .expect_err("403 is an error");
        assert_eq!(e.code(), Some(403), "{e}");
    });
}
