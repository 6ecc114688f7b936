//! The settings' rules: defaults, files, environment, and refusals of what is not a setting.

use super::*;

#[test]
fn defaults_load_without_file_or_env() {
    let s = Settings::load_with(None, Vec::new()).unwrap();
    assert_eq!(s.ingress.max_body_bytes, 256 * 1024);
    assert_eq!(s.keycrm.default_requests_per_minute, 60);
    assert_eq!(s.keycrm.default_base_url, "https://openapi.keycrm.app/v1");
    assert_eq!(
        s.broker.retry_delays,
        vec![
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(60)
        ]
    );
    assert_eq!(s.stock_publisher.push_lease, Duration::from_secs(30));
    assert!(s.security.master_key.is_none());
    assert!(s.broker.queue_expires.is_none());
}

#[test]
fn file_then_env_override_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sklad.toml");
    std::fs::write(
        &path,
        "[ingress]\nmax_body_bytes = 1024\nbind = \"0.0.0.0:9000\"\n[security]\nmaster_key = \"from-file\"\n[order_sync]\ncoalesce = \"2s\"\n",
    )
    .unwrap();
    let env = vec![
        ("SKLAD__INGRESS__BIND".to_owned(), "127.0.0.1:1".to_owned()),
        (
            "SKLAD__BROKER__RETRY_DELAYS".to_owned(),
            "5ms,6ms".to_owned(),
        ),
        ("SKLAD__BROKER__QUEUE_EXPIRES".to_owned(), "1m".to_owned()),
        (
            "SKLAD__STOCK_PUBLISHER__SETTLE".to_owned(),
            "250ms".to_owned(),
        ),
        ("OTHER__INGRESS__BIND".to_owned(), "ignored".to_owned()),
    ];
    let s = Settings::load_with(Some(&path), env).unwrap();
    assert_eq!(s.ingress.max_body_bytes, 1024);
    assert_eq!(s.ingress.bind, "127.0.0.1:1");
    assert_eq!(
        s.broker.retry_delays,
        vec![Duration::from_millis(5), Duration::from_millis(6)]
    );
    assert_eq!(s.broker.queue_expires, Some(Duration::from_secs(60)));
    assert_eq!(s.order_sync.coalesce, Duration::from_secs(2));
    assert_eq!(s.stock_publisher.settle, Duration::from_millis(250));
    assert_eq!(s.security.master_key.unwrap().expose_secret(), "from-file");
}

#[test]
fn ingress_needs_a_worker() {
    let env = |n: &str| vec![("SKLAD__INGRESS__WORKERS".to_owned(), n.to_owned())];
    assert!(Settings::load_with(None, env("0")).is_err());
    assert_eq!(
        Settings::load_with(None, env("3")).unwrap().ingress.workers,
        3
    );
}

#[test]
fn a_duration_without_a_unit_is_refused() {
    let env = vec![("SKLAD__RELAY__POLL".to_owned(), "100".to_owned())];
    assert!(Settings::load_with(None, env).is_err());
}

#[test]
fn the_readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let reference = Settings::reference();
    assert!(reference.len() > 30, "{reference:?}");
    for (env, default) in reference {
        let row = format!("| `{env}` | `{default}` |");
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
    assert!(readme.contains("SKLAD__SECURITY__MASTER_KEY"));
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let s = Settings::load_with(None, Vec::new()).unwrap();
    let debug = format!("{s:?}");
    assert!(!debug.contains("guest:guest"), "{debug}");
    assert!(!debug.contains("postgres:postgres"), "{debug}");
}

#[test]
fn a_setting_sklad_does_not_have_stops_the_start_naming_the_closest() {
    let err = Settings::load_with(
        None,
        vec![(
            "SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS".to_owned(),
            "10".to_owned(),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unknown setting SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS")
            && err.contains("the closest is SKLAD__ORDER_SYNC__RECONCILE_INTERVAL "),
        "{err}"
    );
    // Variables of one underscore are not settings (SKLAD_CONFIG, the tests' own).
    Settings::load_with(None, vec![("SKLAD_CONFIG".to_owned(), "x".to_owned())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sklad.toml");
    std::fs::write(&file, "[order_sync]\nreconcile_interval_secs = 10\n").unwrap();
    let err = Settings::load_with(Some(&file), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown setting order_sync.reconcile_interval_secs")
            && err.contains("the closest is order_sync.reconcile_interval "),
        "{err}"
    );
}
