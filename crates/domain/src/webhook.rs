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

#[cfg(test)]
mod tests {
    use super::*;

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
