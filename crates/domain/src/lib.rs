//! sklad's domain rules as pure functions.
//!
//! Services move data in and out; the decisions they make about that data live here so they
//! can be unit-tested without a database, a broker or keyCRM.

/// Lets the database layer store an enum as its snake_case name and read it back
/// (diesel's `serialize_as`/`deserialize_as`), so a name outside the enum never reaches code.
#[macro_export]
macro_rules! stored_as_text {
    ($ty:ty) => {
        impl TryFrom<String> for $ty {
            type Error = strum::ParseError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_ref().to_owned()
            }
        }
    };
}

pub mod budget;
pub mod nomenclature;
pub mod orders;
pub mod secret;
pub mod stock;
pub mod time;
pub mod webhook;
