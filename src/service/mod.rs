//! What the product does, over the store and the authenticator: the API key
//! lifecycle, organizations and accounts, usage reports. The backoffice, the
//! API and the command line all go through here.

pub mod accounts;
pub mod key_list;
pub mod keys;
pub mod people;
pub mod step_up;
pub mod two_factor;
pub mod usage_report;
