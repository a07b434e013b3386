//! TLS configuration for the server: PEM loading, key/cert checks, self-signed certificates.
