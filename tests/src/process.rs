//! Running the real `sklad` CLI as a process against a test's database and broker.

use secrecy::ExposeSecret;

use crate::TestApp;

/// The environment that points a `sklad` process at `app`'s database, broker namespace,
/// master key and keyCRM simulator settings, plus `extra`.
pub fn process_env(app: &TestApp, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let s = &app.settings;
    let mut env: Vec<(String, String)> = crate::TEST_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.extend([
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
            "SKLAD__SECURITY__MASTER_KEY".to_owned(),
            s.security
                .master_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned())
                .unwrap_or_default(),
        ),
        ("SKLAD__LOG__FORMAT".to_owned(), "json".to_owned()),
        (
            "SKLAD__KEYCRM__ALLOWED_BASE_URLS".to_owned(),
            s.keycrm.allowed_base_urls.join(","),
        ),
    ]);
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push(((*key).to_owned(), (*value).to_owned()));
    }
    env
}
