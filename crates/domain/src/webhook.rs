//! Which keyCRM webhook events sklad acts on.

/// What sklad does with a keyCRM "Send Webhook" event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// An order changed (status, payment, contents): sklad refetches it.
    Order,
    /// Anything else (leads, pipelines): acknowledged and ignored, so a mis-configured
    /// trigger does not make keyCRM resend it.
    Unhandled,
}

/// Classifies a keyCRM event name such as `order.change_order_status`.
///
/// Every `order.*` event means "this order may differ now", and the webhook body never
/// carries lines or payments, so all of them lead to the same full refetch.
pub fn classify(event: &str) -> WebhookKind {
    match event.split_once('.') {
        Some(("order", rest)) if !rest.is_empty() => WebhookKind::Order,
        _ => WebhookKind::Unhandled,
    }
}

/// Whether `token` looks like a token sklad issues, a webhook link's or an admin token
/// (32 random bytes in URL-safe base64 without padding: 43 characters of
/// `A–Z a–z 0–9 - _`). Anything else is refused before any lookup, so junk never costs a
/// database query.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The longest event name keyCRM could send (its names are like
/// `order.change_order_status`).
pub const MAX_EVENT_CHARS: usize = 64;

/// Whether `event` is shaped like a keyCRM event name: `<entity>.<action>`, lower-case ASCII
/// letters, digits and `_`, at most [`MAX_EVENT_CHARS`]. Anything else (NUL, bidi overrides,
/// 10 KB of text) is not an event keyCRM sends, and is refused rather than logged or queued.
pub fn is_event_name(event: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    event.len() <= MAX_EVENT_CHARS
        && event
            .split_once('.')
            .is_some_and(|(entity, action)| word(entity) && word(action))
}

/// How deep a webhook body may nest: keyCRM's documents nest a handful of levels.
pub const MAX_JSON_DEPTH: usize = 32;

/// The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not
/// count); a cheap scan made before parsing, because fields sklad skips are not built and
/// so never meet the parser's own recursion limit.
pub fn json_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_short_printable_entity_dot_action() {
        assert!(is_event_name("order.change_order_status"));
        assert!(is_event_name("lead.change_lead_status"));
        for bad in [
            "",
            "order",
            "order.",
            ".x",
            "Order.Change",
            "order.change\u{0}",
            "order.\u{202e}sutats",
            "order change",
        ] {
            assert!(!is_event_name(bad), "{bad:?}");
        }
        assert!(!is_event_name(&format!(
            "order.{}",
            "x".repeat(MAX_EVENT_CHARS)
        )));
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth(br#"{"a": [1, {"b": "[[[{{{"}]}"#), 3);
        assert_eq!(json_depth(br#"{"a": "\"[[["}"#), 1);
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(json_depth(deep.as_bytes()), 10_001);
    }

    #[test]
    fn only_issued_shapes_are_looked_up() {
        assert!(is_token_shaped(&"A".repeat(43)));
        assert!(is_token_shaped(
            "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"
        ));
        assert!(!is_token_shaped(&"A".repeat(42)));
        assert!(!is_token_shaped(&"A".repeat(44)));
        assert!(!is_token_shaped(&format!("{}=", "A".repeat(42))));
        assert!(!is_token_shaped(&format!("{}/", "A".repeat(42))));
        assert!(!is_token_shaped(&format!("{}é", "A".repeat(41))));
        assert!(!is_token_shaped("not-a-token"));
    }

    #[test]
    fn order_events_are_handled() {
        assert_eq!(classify("order.change_order_status"), WebhookKind::Order);
        assert_eq!(classify("order.change_payment_status"), WebhookKind::Order);
    }

    #[test]
    fn other_events_are_not() {
        assert_eq!(classify("lead.change_lead_status"), WebhookKind::Unhandled);
        assert_eq!(classify("order"), WebhookKind::Unhandled);
        assert_eq!(classify("order."), WebhookKind::Unhandled);
        assert_eq!(classify("orders.x"), WebhookKind::Unhandled);
        assert_eq!(classify(""), WebhookKind::Unhandled);
    }
}
