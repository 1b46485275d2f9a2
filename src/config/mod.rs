//! Configuration: the resource server registration, and the builder that checks every
//! setting at startup.

mod builder;
mod resource_server;

pub use builder::BearerGuardBuilder;
pub use resource_server::{ResourceServer, ScopeDefinition};
