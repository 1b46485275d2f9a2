//! Configuration: the resource server registration, the builder that collects every setting,
//! and the errors of the settings each subsystem checks at startup.

mod authorization_server_settings;
mod builder;
mod error;
mod resource_server;
mod token_dialect;
mod token_encryption;

pub use authorization_server_settings::AuthorizationServerSettings;
pub use builder::BearerGuardBuilder;
pub use error::ConfigError;
pub use resource_server::{ResourceServer, ScopeDefinition};
pub use token_dialect::TokenDialect;
pub use token_encryption::TokenEncryption;
