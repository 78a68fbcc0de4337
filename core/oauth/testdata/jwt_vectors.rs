// JWT test vectors made by `core/oauth/testdata/make_jwt_vectors.mjs` (fresh keys,
// private parts thrown away): public JWKs and tokens for the claims
// iss http://127.0.0.1:9000, aud http://127.0.0.1:8787, sub alice, scope api:read,
// iat 1723563090, exp 1723566700.

/// The time the tokens are checked at.
pub const NOW: u64 = 1723563100;
/// RSA-2048 key `rsa-1`.
pub const RSA_JWK: &str = r#"{"kty":"RSA","n":"t-vfMbMjaTpe-lAm3fBx17ytkLdgNZN5DGQWbTRMe-Q6eihC0j102SPcUN82UD2MV1XEWwx-7YYHYeoUpy-2eh9-XRe6uj7H4xd6Dz8n8_PGOetqVYHkfiwOqNlQXNqgNzY0p9V5rNFUIKZ7dWstf3OqZvgYaw2YoCN79I2R15_9axVUsVwXaD84BNjoa8QzJdap9u1vYN7CBY-SRKKoOTEtFAzdklbV4HFBJNb7GnPiPEHYJXeRSmOGY9M5I2Zxw7Ir8YKH4M0CwHQmOOYQpNb0DbmgSWaJ1MAaPnTwHss86UAF6fIq9F3HflKvFCw7hwtmWlOSCLqDRKwogwrR8w","e":"AQAB","kid":"rsa-1","use":"sig"}"#;
/// RSA-2048 key `rsa-2` (the rotated-in key).
pub const RSA2_JWK: &str = r#"{"kty":"RSA","n":"m5oTIfXe0KyucA8HzpvbJw546qzvxjf9wH_DL5bhqIAegAOXhMrEGwwtlJdQTWnEOTmb5u9PlwcqpWFHkOjGYlLrdNAkjcNKxFrNu6k14GTrZbCbWYKlPS2CTJ1kkcz69QRz1LHuihQMQQ6dp216yy1OxL_F6eo6bfP8RsT6tCFphd8k1y3g6mFRm2gZkVCZLLlDFpI1fYnaT3M4Lmu8J4inov-ZH6Yf4_gQrrFiDIBRJAMznm3CGtpJTt7PZGnfzZPpFU1l3-EhEVRdvgfjdD9DWS0CCrn77FzVxhYMpTTo8qjnLUTG6vlCc5GMxXFbuaF4k6kPAwYNtBt7WLJmEw","e":"AQAB","kid":"rsa-2","use":"sig"}"#;
/// P-256 key `ec-1`.
pub const EC_JWK: &str = r#"{"kty":"EC","x":"b4_KSvr9sqFqd9IlaGsrDeDc83xsMvv6a1urAViyYA8","y":"uIt7z4OcrvbjSjgm6UTNRldr29YX4FGlvDrDrn8C4_g","crv":"P-256","kid":"ec-1","use":"sig"}"#;
/// Ed25519 key `ed-1`.
pub const ED_JWK: &str = r#"{"crv":"Ed25519","x":"7iVE9oWYMqJ3AGeIG3PSA-VD6gNWHIkruPowoMQPI_0","kty":"OKP","kid":"ed-1","use":"sig"}"#;
/// Signed by `rsa-1`.
pub const RS256_TOKEN: &str = r#"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6InJzYS0xIn0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.mMMC1c0n9jI2U3TqZF_EhJmgKQrwMlvxzPyI28uCAw6OgiEjbxdmXyQJaY1JZsU6rFpgpT7xZtGtiZh1xU-G9wuW8HSbdjzzykkyOwYsbcOJbJp62sY5RagQm_JsTuQ0r1blOpZWyloQupAKm5S0RMgvuhsb4tnlZVop037o1u2vl0emszUGuw84-byODxQ4R7hdEEpWcjlbOfP5Oy68EiIBmUAshiPTK7Yq2mKfrI1j0R2rGsmWR7K5OMxGTn4eRkLXcURxYW5KJPZzKzmUV22hav2ZXgs6HpYp_Q6LQSMirY6RzicI-F9EpSNxHKeduAQ10neDCcrC8tZTrPF1sw"#;
/// Signed by `rsa-2`.
pub const RS256_ROTATED_TOKEN: &str = r#"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6InJzYS0yIn0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.gJl29xGxBZCJ0Gn9ZDJohtgLY9CdNeaANhAkz6ksEpqTA6RKC-t-oU2ou3AD3mFu_ps-BjQygJT3tHwQIdAPUYqJEP0NnFy58t8DMwwJt9HX1BbseNgTO7jLdpZ_RFv3qCPgOSVVwfSK0Smz78Ztz76iJsbPb0OAI8lVjd2f1NjJ32PthYLw5GgkR94yt03daeXEUJ5y6DBPXU723DuMbXHtfVyix2QcX5EqkBZvcijiz4FESgxJW_CLFSfaZmifudyKGPzfoImfpbL2ut4Id7kyhW-mXRGj8Xy93RBz488uPXKutcofOzk1P5x937rsB_V1RCMQn3IJ2GmtoYG-oQ"#;
/// Signed by another key but naming `rsa-1`.
pub const RS256_IMPOSTOR_TOKEN: &str = r#"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6InJzYS0xIn0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.TgcJMOlXT0-DA9Os90ualDiB_0zSC9atfT-rINU2BjphRrfDgRj4HPeA3A1nD8VFQd0oo_If5bXsT02uCg2Etgq0x1nGb1mO0-7Mx35Ks4d042yCmqBPBWa2ObP_zdlUa7c6bCX8NNaPuxQBSz7uBO98sJSRYZo0lyd5jkpj3zLx_Kh_7cC0kdlCRCL0VTZAsemMUXX1BDDD9vYO7yU3BdlF-FKgpjbA2bXT9Xgd0D9eerWEAMKC-U7OPBNc6iAVdZn2Ywh5S7fXBuscdipSW_cLgn33rR6e3Kg7jXnnFkaOeoPpUuFqWIK92soymwKne--2RZbJenoICofyQKXbtw"#;
/// Signed by `ec-1`.
pub const ES256_TOKEN: &str = r#"eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImVjLTEifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.4Wz6qCV1-yJNSYVxUjTEJ9FCLVN8DhfmHQyTPfeoscYvGm7UpXZeL4hRDd-2lp_Qz2XzffOoZH7m1p9R7DYjCQ"#;
/// Signed by `ec-1`, without `kid`.
pub const ES256_NO_KID_TOKEN: &str = r#"eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.4xpVdWLlMl4efbwYEWMshOkxjaX340CawRjSHzEcMuuSlcngt4MFV9XvUK5Y2tja2WWs3KqFQ_6-szPrCQ-4LA"#;
/// Signed by `ed-1`.
pub const EDDSA_TOKEN: &str = r#"eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImVkLTEifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjkwMDAiLCJhdWQiOiJodHRwOi8vMTI3LjAuMC4xOjg3ODciLCJleHAiOjE3MjM1NjY3MDAsImlhdCI6MTcyMzU2MzA5MCwic3ViIjoiYWxpY2UiLCJjbGllbnRfaWQiOiJhcHAiLCJzY29wZSI6ImFwaTpyZWFkIn0.riuf839aFlgyIzOhXbFkdGrWnTPXixCF1dCgsw8onWmuJUqP9nIqjU_WIyR-o3Szjq-JO6jzafo2sm1dsa8-DA"#;
