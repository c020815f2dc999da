//! CRC-32 (IEEE 802.3, the zlib/PNG/`java.util.zip.CRC32`/Python `binascii.crc32` one): what
//! PayPal's transmission signature covers instead of the body.
//!
//! Hand-written because no CRC crate is in Cargo.lock (`crc32fast` is not), and a table-driven
//! CRC-32 is a dozen lines; the check value below and the official PayPal vector (the Java SDK's
//! `ValidateCertTest`, in `tests.rs`) pin it.

/// The reflected polynomial 0x04C11DB7.
const POLYNOMIAL: u32 = 0xEDB8_8320;

/// The byte-at-a-time table, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The CRC-32 of `data` (PayPal writes it as an unsigned decimal).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for byte in data {
        crc = (crc >> 8) ^ TABLE[((crc ^ u32::from(*byte)) & 0xFF) as usize];
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    /// The catalogue check value of CRC-32/ISO-HDLC (Greg Cook's "Catalogue of parametrised CRC
    /// algorithms": check=0xcbf43926 for "123456789"), and the empty input.
    #[test]
    fn matches_the_catalogue_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // Python: binascii.crc32(b"The quick brown fox jumps over the lazy dog") == 0x414fa339
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }
}
