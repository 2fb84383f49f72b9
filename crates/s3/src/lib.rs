//! A minimal S3 client over S3's REST API — reqwest plus our own SigV4 signer ([`sigv4`]) —
//! for the calls Evident makes: archive uploads with Object Lock retention and a SHA-256
//! checksum, reads, HEAD checks, deletes by version, listing, the bucket's Object Lock and
//! versioning configuration, and legal holds. The aws-sdk crates would do the same for 3+
//! minutes of build time (DESIGN.md §15). [`S3Client`] is the entry point; the server's
//! S3/SQS connector signs its SQS calls with [`sigv4`] too.
//!
//! ```no_run
//! # async fn run() -> Result<(), evident_s3::S3Error> {
//! use evident_s3::{S3Client, S3Config, sigv4::Credentials};
//! let s3 = S3Client::new(&S3Config {
//!     endpoint: "https://s3.eu-west-1.amazonaws.com".into(),
//!     region: "eu-west-1".into(),
//!     credentials: Credentials { access_key_id: "AKIA…".into(), secret_access_key: "…".into(), session_token: None },
//! })?;
//! let lock = s3.get_object_lock_configuration("evident-archive").await?;
//! println!("object lock enabled: {}", lock.enabled);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod client;
pub mod sigv4;

pub use client::{
    LockConfiguration, LockMode, ObjectHead, ObjectSummary, PutResult, Retention, S3Client,
    S3Config, S3Error, sha256_base64,
};
