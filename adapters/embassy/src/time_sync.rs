//! Learns wall time from an HTTP server's `Date` header (RFC 9110 §6.6.1), for a
//! device without an RTC: one `HEAD` request through any `Connect`.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_io_async::{Read, Write};
use push_advisor_core::net::{Connect, Endpoint};

use crate::clock::{EmbassyClock, parse_http_date};

/// Why wall time could not be learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeSyncError {
    /// The URL is not an absolute `http`/`https` URL.
    BadUrl,
    /// The connection could not be opened.
    Connect,
    /// Reading or writing failed, or the server closed early.
    Io,
    /// The answer was not HTTP or its head did not fit the buffer.
    BadResponse,
    /// The answer had no readable `Date` header.
    NoDate,
}

/// Sends `HEAD <path>` to `url` and sets `clock` from the answer's `Date` header.
/// `buf` holds the response head (512 bytes is plenty for most servers).
/// Returns the Unix seconds learned.
pub async fn learn_wall_time<C: Connect, M: RawMutex>(
    connector: &C,
    url: &str,
    clock: &EmbassyClock<M>,
    buf: &mut [u8],
) -> Result<u64, TimeSyncError> {
    let endpoint = Endpoint::parse(url).ok_or(TimeSyncError::BadUrl)?;
    let mut connection = connector
        .connect(&endpoint)
        .await
        .map_err(|_| TimeSyncError::Connect)?;
    write_request(&mut connection, &endpoint)
        .await
        .map_err(|_| TimeSyncError::Io)?;
    let mut filled = 0;
    loop {
        let free = buf.get_mut(filled..).unwrap_or(&mut []);
        if free.is_empty() {
            return Err(TimeSyncError::BadResponse);
        }
        let n = connection.read(free).await.map_err(|_| TimeSyncError::Io)?;
        if n == 0 {
            return Err(TimeSyncError::Io);
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; 24];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buf.get(..filled).unwrap_or(&[])) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(_)) => {
                let date = response
                    .headers
                    .iter()
                    .find(|header| header.name.eq_ignore_ascii_case("date"))
                    .and_then(|header| core::str::from_utf8(header.value).ok())
                    .and_then(parse_http_date)
                    .ok_or(TimeSyncError::NoDate)?;
                clock.set_unix_time(date);
                return Ok(date);
            }
            Err(_) => return Err(TimeSyncError::BadResponse),
        }
    }
}

async fn write_request<W: Write>(
    connection: &mut W,
    endpoint: &Endpoint<'_>,
) -> Result<(), W::Error> {
    let default_port = if endpoint.tls { 443 } else { 80 };
    let mut digits = [0u8; 5];
    connection.write_all(b"HEAD ").await?;
    connection.write_all(endpoint.path.as_bytes()).await?;
    connection.write_all(b" HTTP/1.1\r\nHost: ").await?;
    connection.write_all(endpoint.host.as_bytes()).await?;
    if endpoint.port != default_port {
        connection.write_all(b":").await?;
        connection
            .write_all(port_digits(endpoint.port, &mut digits))
            .await?;
    }
    connection
        .write_all(b"\r\nUser-Agent: push-advisor-device\r\nConnection: close\r\n\r\n")
        .await?;
    connection.flush().await
}

fn port_digits(port: u16, digits: &mut [u8; 5]) -> &[u8] {
    let mut start = digits.len();
    let mut rest = port;
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::port_digits;

    #[test]
    fn port_digits_are_decimal() {
        let mut digits = [0u8; 5];
        assert_eq!(port_digits(8000, &mut digits), b"8000");
        assert_eq!(port_digits(0, &mut digits), b"0");
        assert_eq!(port_digits(65535, &mut digits), b"65535");
    }
}
