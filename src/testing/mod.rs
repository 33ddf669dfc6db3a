//! Test-only parts of the crate (feature `test-hooks`, which production
//! refuses to start with): fakes of SaaS that tests cannot reach, speaking
//! their real wire protocol over real HTTP on 127.0.0.1.

pub mod fake_oidc;
