// @generated-style diesel schema; keep in step with `migrations/` (a test compares them).

diesel::table! {
    accounts (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    admin_tokens (id) {
        id -> Uuid,
        account_id -> Uuid,
        token_hash -> Bytea,
        label -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_tokens (id) {
        id -> Uuid,
        account_id -> Uuid,
        token_hash -> Bytea,
        token_ciphertext -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    keycrm_integrations (account_id) {
        account_id -> Uuid,
        api_key_ciphertext -> Nullable<Bytea>,
        api_key_fingerprint -> Nullable<Bytea>,
        api_key_mask -> Nullable<Text>,
        base_url -> Text,
        enabled -> Bool,
        receive_payments -> Bool,
        archive_status_ids -> Array<Int8>,
        keep_product_info -> Bool,
        stock_push_enabled -> Bool,
        requests_per_minute -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    inbox (consumer, message_id) {
        consumer -> Text,
        message_id -> Text,
        account_id -> Uuid,
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        account_id -> Uuid,
        message_id -> Uuid,
        message_type -> Text,
        routing_key -> Text,
        payload -> Bytea,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    keycrm_budget (key_fingerprint) {
        key_fingerprint -> Bytea,
        tat -> Timestamptz,
        granted_total -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(admin_tokens -> accounts (account_id));
diesel::joinable!(webhook_tokens -> accounts (account_id));
diesel::joinable!(keycrm_integrations -> accounts (account_id));
diesel::joinable!(inbox -> accounts (account_id));
diesel::joinable!(outbox -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    admin_tokens,
    webhook_tokens,
    keycrm_integrations,
    inbox,
    outbox,
    keycrm_budget,
);
