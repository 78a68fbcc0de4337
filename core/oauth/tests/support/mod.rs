pub mod rfc_jws;
