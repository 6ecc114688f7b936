//! How secrets are shown back to the user.

/// Masks an API key for display: enough to recognise which key is saved, never enough to use it.
///
/// Keys of 12 characters or more keep their last four; shorter keys are fully hidden.
pub fn mask_api_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 12 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("••••••••{tail}")
    } else {
        "••••••••".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_keep_only_their_last_four_characters() {
        let masked = mask_api_key("MjM2NzQ5NjVkYzQxMjM0NTY3ODk");
        assert_eq!(masked, "••••••••3ODk");
        assert!(!masked.contains("MjM2"));
    }

    #[test]
    fn short_keys_are_fully_hidden() {
        assert_eq!(mask_api_key("abc"), "••••••••");
        assert_eq!(mask_api_key(""), "••••••••");
    }
}
