//! Who is calling: passwords, browser sessions, CSRF, role guards, the client
//! address.

pub mod client_ip;
pub mod csrf;
pub mod guard;
pub mod password;
pub mod session;
pub mod throttle;
