//! Loopback ports for the servers a test or the bench starts.

/// A port on 127.0.0.1 that was free a moment ago (the caller binds it right after).
pub fn try_free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// [`try_free_port`] for tests, where a machine without a loopback port is a failure.
pub fn free_port() -> u16 {
    try_free_port().expect("binding 127.0.0.1:0 to find a free port")
}
