//! sklad's domain rules as pure functions.
//!
//! Services move data in and out; the decisions they make about that data live here so they
//! can be unit-tested without a database, a broker or keyCRM.

/// Declares a closed set of names sklad stores and shows: a fieldless enum that reads and
/// writes its snake_case names (serde, strum), documents them (utoipa), and converts to and
/// from the text the database stores, so a name outside the set never reaches code.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)* }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
            ::utoipa::ToSchema,
            ::strum::AsRefStr,
            ::strum::Display,
            ::strum::EnumString,
            ::strum::VariantNames,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl TryFrom<String> for $name {
            type Error = ::strum::ParseError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_ref().to_owned()
            }
        }
    };
}

pub mod budget;
pub mod nomenclature;
pub mod orders;
pub mod production;
pub mod push;
pub mod reservation;
pub mod secret;
pub mod spreadsheet;
pub mod stock;
pub mod takeover;
pub mod time;
pub mod webhook;
