// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        time_zone -> Text,
        currency -> Text,
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
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    balances (warehouse_id, product_id) {
        account_id -> Uuid,
        warehouse_id -> Uuid,
        product_id -> Uuid,
        quantity -> Numeric,
        updated_at -> Timestamptz,
        reserved -> Numeric,
    }
}

diesel::table! {
    bom_components (bom_id, position) {
        bom_id -> Uuid,
        position -> Int4,
        component_id -> Uuid,
        quantity -> Numeric,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    boms (id) {
        id -> Uuid,
        account_id -> Uuid,
        product_id -> Uuid,
        version -> Int4,
        output_quantity -> Numeric,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    console_refusals (id_hash) {
        id_hash -> Bytea,
        session_hash -> Bytea,
        status -> Int2,
        page -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Bytea,
        account_id -> Uuid,
        admin_token_id -> Uuid,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    customer_order_lines (id) {
        id -> Uuid,
        account_id -> Uuid,
        order_id -> Uuid,
        position -> Int4,
        product_id -> Uuid,
        keycrm_line_id -> Nullable<Int8>,
        name -> Text,
        sku -> Text,
        quantity -> Numeric,
        unit -> Nullable<Text>,
        price -> Nullable<Numeric>,
        price_sold -> Nullable<Numeric>,
        discount -> Nullable<Numeric>,
        properties -> Jsonb,
    }
}

diesel::table! {
    customer_orders (id) {
        id -> Uuid,
        account_id -> Uuid,
        keycrm_id -> Int8,
        number -> Nullable<Text>,
        source_id -> Nullable<Int8>,
        status_id -> Nullable<Int8>,
        status_group_id -> Nullable<Int8>,
        status_name -> Nullable<Text>,
        grand_total -> Nullable<Numeric>,
        total_discount -> Nullable<Numeric>,
        payments_total -> Nullable<Numeric>,
        shipping_price -> Nullable<Numeric>,
        payment_status -> Nullable<Text>,
        buyer_name -> Nullable<Text>,
        buyer_phone -> Nullable<Text>,
        buyer_email -> Nullable<Text>,
        buyer_comment -> Nullable<Text>,
        manager_comment -> Nullable<Text>,
        keycrm_created_at -> Nullable<Timestamptz>,
        keycrm_updated_at -> Nullable<Timestamptz>,
        ordered_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        status_changed_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
        deleted_in_keycrm_at -> Nullable<Timestamptz>,
        raw -> Jsonb,
        synced_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        shipped_movement_id -> Nullable<Uuid>,
        shipment_waiting_since -> Nullable<Timestamptz>,
        shipment_waiting_reason -> Nullable<Text>,
        returned_movement_id -> Nullable<Uuid>,
        reserved_at -> Nullable<Timestamptz>,
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
    ingress_listeners (id) {
        id -> Uuid,
        applied -> Int8,
        seen_at -> Timestamptz,
    }
}

diesel::table! {
    keycrm_budget (key_fingerprint) {
        key_fingerprint -> Bytea,
        tat -> Timestamptz,
        granted_total -> Int8,
        updated_at -> Timestamptz,
        requests_per_minute -> Int4,
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
        import_status_ids -> Array<Int8>,
        reconcile_watermark -> Nullable<Timestamptz>,
        reconcile_lease_until -> Nullable<Timestamptz>,
        reconcile_due_at -> Nullable<Timestamptz>,
        key_rejected_at -> Nullable<Timestamptz>,
        misconfigured_at -> Nullable<Timestamptz>,
        flag_answer -> Nullable<Text>,
        ship_status_ids -> Array<Int8>,
        ship_warehouse_id -> Nullable<Uuid>,
        return_status_ids -> Array<Int8>,
        reserve_status_ids -> Array<Int8>,
        push_quantity -> Text,
        ship_source_rules -> Jsonb,
        production_status_ids -> Array<Int8>,
        one_time_products_track_stock -> Bool,
        stock_taken_over_at -> Nullable<Timestamptz>,
        first_webhook_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    keycrm_warehouses (account_id, keycrm_id) {
        account_id -> Uuid,
        keycrm_id -> Int8,
        name -> Text,
        source -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    movement_lines (id) {
        id -> Int8,
        account_id -> Uuid,
        movement_id -> Uuid,
        warehouse_id -> Uuid,
        product_id -> Uuid,
        quantity_delta -> Numeric,
        balance_after -> Numeric,
    }
}

diesel::table! {
    movements (id) {
        id -> Uuid,
        account_id -> Uuid,
        kind -> Text,
        note -> Nullable<Text>,
        order_id -> Nullable<Uuid>,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamptz,
        production_order_id -> Nullable<Uuid>,
        reverses_movement_id -> Nullable<Uuid>,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    order_fetches (account_id, keycrm_order_id) {
        account_id -> Uuid,
        keycrm_order_id -> Int8,
        requested_at -> Timestamptz,
        request_seq -> Int8,
        events -> Int4,
        event_updated_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        message_ids -> Array<Text>,
        last_requested_at -> Timestamptz,
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
        attempts -> Int4,
        last_error -> Nullable<Text>,
        set_aside_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    parked_messages (id) {
        id -> Int8,
        consumer -> Text,
        message_id -> Nullable<Text>,
        account_id -> Nullable<Uuid>,
        message_type -> Nullable<Text>,
        subject -> Nullable<Text>,
        keycrm_id -> Nullable<Int8>,
        reason -> Text,
        attempts -> Int4,
        parked_at -> Timestamptz,
        kept_at -> Timestamptz,
        properties -> Jsonb,
        body -> Bytea,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        account_id -> Uuid,
        order_id -> Uuid,
        keycrm_payment_id -> Int8,
        payment_method_id -> Nullable<Int8>,
        amount -> Nullable<Numeric>,
        currency -> Nullable<Text>,
        status -> Nullable<Text>,
        payment_date -> Nullable<Timestamptz>,
        transaction_uuid -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    production_orders (id) {
        id -> Uuid,
        account_id -> Uuid,
        product_id -> Uuid,
        bom_id -> Uuid,
        quantity -> Numeric,
        made -> Numeric,
        component_warehouse_id -> Uuid,
        output_warehouse_id -> Uuid,
        due_date -> Nullable<Date>,
        state -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        customer_order_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        account_id -> Uuid,
        sku -> Text,
        name -> Text,
        base_name -> Text,
        properties -> Jsonb,
        price -> Nullable<Numeric>,
        unit -> Nullable<Text>,
        keycrm_offer_id -> Nullable<Int8>,
        keycrm_product_id -> Nullable<Int8>,
        origin -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        unit_cost -> Nullable<Numeric>,
        current_bom_id -> Nullable<Uuid>,
        push_makeable -> Bool,
        barcode -> Nullable<Text>,
        archived_at -> Nullable<Timestamptz>,
        tracks_stock -> Bool,
    }
}

diesel::table! {
    reservations (id) {
        order_id -> Nullable<Uuid>,
        product_id -> Uuid,
        account_id -> Uuid,
        warehouse_id -> Uuid,
        quantity -> Numeric,
        reserved_at -> Timestamptz,
        id -> Int8,
        production_order_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    stock_dirty (account_id, keycrm_warehouse_id, sku) {
        account_id -> Uuid,
        keycrm_warehouse_id -> Int8,
        sku -> Text,
        version -> Int8,
        first_marked_at -> Timestamptz,
        marked_at -> Timestamptz,
        due_at -> Timestamptz,
        failures -> Int4,
    }
}

diesel::table! {
    stock_pushed (account_id, keycrm_warehouse_id, sku) {
        account_id -> Uuid,
        keycrm_warehouse_id -> Int8,
        sku -> Text,
        quantity -> Nullable<Numeric>,
        pushed_at -> Nullable<Timestamptz>,
        rejected_reason -> Nullable<Text>,
        rejected_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    stock_pushes (id) {
        id -> Uuid,
        account_id -> Uuid,
        keycrm_warehouse_id -> Int8,
        started_at -> Timestamptz,
        duration_ms -> Int4,
        items -> Int4,
        quantities -> Jsonb,
        outcome -> Text,
        http_status -> Nullable<Int4>,
        answer -> Nullable<Text>,
        rejected -> Jsonb,
    }
}

diesel::table! {
    sync_jobs (id) {
        id -> Uuid,
        account_id -> Uuid,
        status_ids -> Array<Int8>,
        state -> Text,
        next_page -> Int4,
        pages_done -> Int4,
        pages_total -> Nullable<Int4>,
        orders_done -> Int4,
        orders_total -> Nullable<Int4>,
        requests -> Int4,
        failures -> Int4,
        last_error -> Nullable<Text>,
        lease_owner -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        kind -> Text,
        periodic -> Bool,
        created -> Int4,
        updated -> Int4,
        unchanged -> Int4,
    }
}

diesel::table! {
    warehouses (id) {
        id -> Uuid,
        account_id -> Uuid,
        name -> Text,
        allow_negative -> Bool,
        keycrm_warehouse_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        push_buffer -> Numeric,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_token_change_counter (only_row) {
        only_row -> Bool,
        value -> Int8,
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

diesel::joinable!(admin_tokens -> accounts (account_id));
diesel::joinable!(balances -> accounts (account_id));
diesel::joinable!(balances -> products (product_id));
diesel::joinable!(balances -> warehouses (warehouse_id));
diesel::joinable!(bom_components -> boms (bom_id));
diesel::joinable!(bom_components -> products (component_id));
diesel::joinable!(boms -> accounts (account_id));
diesel::joinable!(console_refusals -> console_sessions (session_hash));
diesel::joinable!(console_sessions -> accounts (account_id));
diesel::joinable!(console_sessions -> admin_tokens (admin_token_id));
diesel::joinable!(customer_order_lines -> accounts (account_id));
diesel::joinable!(customer_order_lines -> customer_orders (order_id));
diesel::joinable!(customer_order_lines -> products (product_id));
diesel::joinable!(customer_orders -> accounts (account_id));
diesel::joinable!(inbox -> accounts (account_id));
diesel::joinable!(keycrm_integrations -> accounts (account_id));
diesel::joinable!(keycrm_integrations -> warehouses (ship_warehouse_id));
diesel::joinable!(keycrm_warehouses -> accounts (account_id));
diesel::joinable!(movement_lines -> accounts (account_id));
diesel::joinable!(movement_lines -> movements (movement_id));
diesel::joinable!(movement_lines -> products (product_id));
diesel::joinable!(movement_lines -> warehouses (warehouse_id));
diesel::joinable!(movements -> accounts (account_id));
diesel::joinable!(movements -> production_orders (production_order_id));
diesel::joinable!(order_fetches -> accounts (account_id));
diesel::joinable!(outbox -> accounts (account_id));
diesel::joinable!(payments -> accounts (account_id));
diesel::joinable!(payments -> customer_orders (order_id));
diesel::joinable!(production_orders -> accounts (account_id));
diesel::joinable!(production_orders -> boms (bom_id));
diesel::joinable!(production_orders -> customer_orders (customer_order_id));
diesel::joinable!(production_orders -> products (product_id));
diesel::joinable!(products -> accounts (account_id));
diesel::joinable!(reservations -> accounts (account_id));
diesel::joinable!(reservations -> customer_orders (order_id));
diesel::joinable!(reservations -> production_orders (production_order_id));
diesel::joinable!(reservations -> products (product_id));
diesel::joinable!(reservations -> warehouses (warehouse_id));
diesel::joinable!(stock_dirty -> accounts (account_id));
diesel::joinable!(stock_pushed -> accounts (account_id));
diesel::joinable!(stock_pushes -> accounts (account_id));
diesel::joinable!(sync_jobs -> accounts (account_id));
diesel::joinable!(warehouses -> accounts (account_id));
diesel::joinable!(webhook_tokens -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    admin_tokens,
    balances,
    bom_components,
    boms,
    console_refusals,
    console_sessions,
    customer_order_lines,
    customer_orders,
    inbox,
    ingress_listeners,
    keycrm_budget,
    keycrm_integrations,
    keycrm_warehouses,
    movement_lines,
    movements,
    order_fetches,
    outbox,
    parked_messages,
    payments,
    production_orders,
    products,
    reservations,
    stock_dirty,
    stock_pushed,
    stock_pushes,
    sync_jobs,
    warehouses,
    webhook_token_change_counter,
    webhook_tokens,
);
