//! Which PostgreSQL errors are the database's trouble and which are the statement's, by
//! SQLSTATE (the codes of PostgreSQL's "Appendix A. Error Codes"), never by message text.

/// Classes and codes that say the server could not do the work now, whatever the work:
/// connection exceptions (08), insufficient resources (53: too many connections, disk
/// full), system errors (58), a shutdown or start-up in progress (57P01–57P03) and a
/// read-only server (25006, a standby during a fail-over).
pub(crate) fn is_infra(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "53" | "58"))
        || matches!(code, "57P01" | "57P02" | "57P03" | "25006")
}

/// Class 22, data exception: a value out of range, too long or not valid in the encoding.
pub(crate) fn is_data_exception(code: &str) -> bool {
    code.starts_with("22")
}

/// tokio-postgres's own words (not the server's, so never translated) for a connection
/// that failed before any answer came: the socket, the handshake, a closed connection, and
/// the diesel-async channel that carries the connection task's end. Anything else without
/// a SQLSTATE (a value the driver could not encode, a wrong column) is the statement's.
pub(crate) fn is_driver_connection_error(message: &str) -> bool {
    [
        "connection closed",
        "error communicating with the server",
        "error connecting to server",
        "timeout waiting for server",
        "error performing TLS handshake",
        "unexpected message from server",
        "error parsing response from server",
        "error encoding message to server",
        "channel closed",
    ]
    .iter()
    .any(|words| message.starts_with(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_from_bad_statements_by_code() {
        for code in [
            "08006", "08001", "57P01", "57P03", "53300", "53100", "58030", "25006",
        ] {
            assert!(is_infra(code), "{code} is the database's trouble");
        }
        for code in [
            "22003", "23505", "40001", "42P01", "57014", "57P04", "XX000",
        ] {
            assert!(!is_infra(code), "{code} is the statement's trouble");
        }
    }

    #[test]
    fn class_22_is_the_inputs_fault() {
        for code in ["22003", "22001", "22021", "22P05", "22P02"] {
            assert!(is_data_exception(code));
        }
        assert!(!is_data_exception("23505"));
        assert!(!is_data_exception("08006"));
    }

    #[test]
    fn only_the_drivers_connection_failures_are_outages() {
        assert!(is_driver_connection_error("connection closed"));
        assert!(is_driver_connection_error(
            "error communicating with the server: broken pipe"
        ));
        assert!(!is_driver_connection_error("error serializing parameter 3"));
        assert!(!is_driver_connection_error("invalid column `x`"));
    }
}
