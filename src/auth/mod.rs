//! Who is calling: passwords, browser sessions, CSRF, role guards, the client
//! address.

pub mod cache;
pub mod client_ip;
pub mod csrf;
pub mod guard;
pub mod key_auth;
pub mod miss_budget;
pub mod password;
pub mod session;
pub mod throttle;
pub mod usage;
