//! Running the real `sklad` CLI as a process against a test's database and broker.

use secrecy::ExposeSecret;

use crate::TestApp;

/// The environment that points a `sklad` process at `app`'s database, broker namespace,
/// master key and keyCRM simulator settings, plus `extra`.
pub fn process_env(app: &TestApp, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let s = &app.settings;
    let mut env = vec![
        ("SKLAD__DATABASE__URL".to_owned(), app.db.url.clone()),
        (
            "SKLAD__BROKER__URL".to_owned(),
            s.broker.url.expose_secret().to_owned(),
        ),
        (
            "SKLAD__BROKER__NAMESPACE".to_owned(),
            s.broker.namespace.clone(),
        ),
        (
            "SKLAD__BROKER__QUEUE_EXPIRES_MS".to_owned(),
            "600000".to_owned(),
        ),
        (
            "SKLAD__BROKER__RETRY_DELAYS_MS".to_owned(),
            "200,400".to_owned(),
        ),
        (
            "SKLAD__SECURITY__MASTER_KEY".to_owned(),
            s.security
                .master_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned())
                .unwrap_or_default(),
        ),
        (
            "SKLAD__KEYCRM__RETRY_MIN_DELAY_MS".to_owned(),
            "50".to_owned(),
        ),
        (
            "SKLAD__KEYCRM__RETRY_MAX_DELAY_MS".to_owned(),
            "1000".to_owned(),
        ),
        (
            "SKLAD__ORDER_SYNC__BIND".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        ("SKLAD__ORDER_SYNC__POLL_MS".to_owned(), "50".to_owned()),
        (
            "SKLAD__ORDER_SYNC__COALESCE_MS".to_owned(),
            "200".to_owned(),
        ),
        (
            "SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS".to_owned(),
            "0".to_owned(),
        ),
        ("SKLAD__LOG__FORMAT".to_owned(), "json".to_owned()),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push(((*key).to_owned(), (*value).to_owned()));
    }
    env
}
