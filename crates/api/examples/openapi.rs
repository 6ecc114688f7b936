//! Prints the admin API's OpenAPI document for the default settings:
//! `cargo run -p sklad-api --example openapi`.

fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::Settings::default();
    let doc = sklad_api::openapi(&settings.keycrm.allowed_base_urls);
    println!("{}", sklad_api::openapi_json(&doc)?);
    Ok(())
}
