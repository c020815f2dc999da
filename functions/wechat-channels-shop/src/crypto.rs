//! WeChat's message crypto (`WXBizMsgCrypt`): the SHA-1 signatures over sorted strings and the
//! AES-256-CBC envelope of safe-mode pushes.
//!
//! Scheme (official: <https://developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md>
//! and its technical plan, and the official sample code `cryptoDemo.zip`
//! <https://wximg.gtimg.com/shake_tv/mpwiki/cryptoDemo.zip>):
//! - `signature` / `msg_signature` = lowercase hex SHA-1 of the lexicographically sorted strings
//!   (`[token, timestamp, nonce]`, plus `Encrypt` for `msg_signature`) concatenated;
//! - AESKey = base64-decode(EncodingAESKey + "="), 32 bytes; IV = AESKey[..16]; AES-256-CBC;
//!   PKCS#7 padding to a multiple of **32** bytes;
//! - plaintext = 16 random bytes ‖ 4-byte big-endian message length ‖ message ‖ appid.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};

/// The PKCS#7 block size WeChat pads to (twice the AES block).
const PAD_BLOCK: usize = 32;
/// AES block size: a ciphertext is a whole number of these.
const AES_BLOCK: usize = 16;
/// Random prefix length.
const RANDOM_LEN: usize = 16;

/// Base64 that tolerates non-zero trailing bits: `EncodingAESKey + "="` is 43 significant
/// characters whose last one carries 2 unused bits, which WeChat does not zero (the official key
/// example `abc…EFG` ends in `G`). Python's and Java's decoders ignore them; so do we.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a message could not be decrypted. Messages never contain key material or plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The configured EncodingAESKey is not 43 base64 characters.
    #[error("EncodingAESKey must be 43 base64 characters")]
    BadKey,
    /// `Encrypt` is not base64, or not a whole number of AES blocks.
    #[error("ciphertext is not base64 of whole AES blocks")]
    BadCiphertext,
    /// The PKCS#7 padding (1..=32) is wrong: wrong key or tampered ciphertext.
    #[error("padding is invalid")]
    BadPadding,
    /// The length prefix does not fit the plaintext.
    #[error("plaintext layout is invalid")]
    BadLayout,
}

/// A 32-byte AES key decoded from an EncodingAESKey.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

impl AesKey {
    /// Decodes the 43-character EncodingAESKey from the platform console.
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let text = encoding_aes_key.trim();
        if text.len() != 43 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CryptoError::BadKey);
        }
        let bytes = LENIENT
            .decode(format!("{text}="))
            .map_err(|_| CryptoError::BadKey)?;
        bytes
            .try_into()
            .map(AesKey)
            .map_err(|_| CryptoError::BadKey)
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

/// A decrypted message: the message bytes and the receiver id (appid) that trailed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The message (JSON for the Channels shop).
    pub message: Vec<u8>,
    /// The appid (or WeCom corp id) the platform appended.
    pub receiver_id: Vec<u8>,
}

/// Lowercase hex SHA-1 of `parts` sorted lexicographically and concatenated.
pub fn sorted_sha1_hex(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Decrypts a base64 `Encrypt` value.
pub fn decrypt(key: &AesKey, encrypted_base64: &str) -> Result<Decrypted, CryptoError> {
    let mut buffer = LENIENT
        .decode(encrypted_base64.trim())
        .map_err(|_| CryptoError::BadCiphertext)?;
    if buffer.is_empty() || buffer.len() % AES_BLOCK != 0 {
        return Err(CryptoError::BadCiphertext);
    }
    let decryptor = cbc::Decryptor::<Aes256>::new(&key.0.into(), &key.iv().into());
    let plain = decryptor
        .decrypt_padded_mut::<NoPadding>(&mut buffer)
        .map_err(|_| CryptoError::BadCiphertext)?;
    let unpadded = strip_pkcs7_32(plain)?;
    let body = unpadded
        .get(RANDOM_LEN..)
        .filter(|b| b.len() >= 4)
        .ok_or(CryptoError::BadLayout)?;
    let (len_bytes, rest) = body.split_at(4);
    let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let len = usize::try_from(len).map_err(|_| CryptoError::BadLayout)?;
    if len > rest.len() {
        return Err(CryptoError::BadLayout);
    }
    let (message, receiver_id) = rest.split_at(len);
    Ok(Decrypted {
        message: message.to_vec(),
        receiver_id: receiver_id.to_vec(),
    })
}

/// Encrypts `message` for `receiver_id` with the given 16-byte random prefix, as the platform
/// does (used to sign samples; the official sample tests fix the prefix the same way).
pub fn encrypt(key: &AesKey, random: &[u8; 16], message: &[u8], receiver_id: &str) -> String {
    let mut plain = Vec::with_capacity(RANDOM_LEN + 4 + message.len() + receiver_id.len() + 32);
    plain.extend_from_slice(random);
    // Messages are bounded by the 1 MiB body limit; a longer one cannot be a WeChat push.
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    plain.extend_from_slice(&len.to_be_bytes());
    plain.extend_from_slice(message);
    plain.extend_from_slice(receiver_id.as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    // `pad` is 1..=32, so it fits a byte.
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let len = plain.len();
    let encryptor = cbc::Encryptor::<Aes256>::new(&key.0.into(), &key.iv().into());
    match encryptor.encrypt_padded_mut::<NoPadding>(&mut plain, len) {
        Ok(cipher) => STANDARD.encode(cipher),
        // The buffer is a whole number of 32-byte blocks, so NoPadding cannot fail.
        Err(_) => unreachable!("padded plaintext is block-aligned"),
    }
}

/// Removes WeChat's PKCS#7 padding (pad byte 1..=32, every pad byte equal).
fn strip_pkcs7_32(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (data, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn key(text: &str) -> AesKey {
        AesKey::from_encoding_aes_key(text).expect("43-character key")
    }

    /// Official: the Channels shop message-push doc's URL-verification example,
    /// <https://developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md>
    /// (Token `AAAAA`, sorted `["1514711492","1714036504","AAAAA"]`).
    #[test]
    fn url_signature_matches_the_channels_doc_example() {
        assert_eq!(
            sorted_sha1_hex(&["AAAAA", "1714036504", "1514711492"]),
            "f464b24fc39322e44b38aa78f5edd27bd1441696"
        );
    }

    /// Official: Tencent's Java sample test `WXBizMsgCryptTest.testAesEncrypt` (in the official
    /// `cryptoDemo.zip`, mirrored e.g. in Wyl015/wuyiling
    /// `work-test/src/main/resources/Utils/aes/WXBizMsgCryptTest.java`): appid
    /// `wxb11529c136998cb6`, random `aaaabbbbccccdddd`, message `我是中文abcd123`.
    #[test]
    fn encrypts_and_decrypts_the_java_sample_vector() {
        let expected = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
        let k = key(SAMPLE_KEY);
        let cipher = encrypt(
            &k,
            b"aaaabbbbccccdddd",
            "我是中文abcd123".as_bytes(),
            "wxb11529c136998cb6",
        );
        assert_eq!(cipher, expected);
        let plain = decrypt(&k, expected).expect("decrypts");
        assert_eq!(plain.message, "我是中文abcd123".as_bytes());
        assert_eq!(plain.receiver_id, b"wxb11529c136998cb6");
    }

    /// Official: the Official Accounts Python sample `Sample.py` in `cryptoDemo.zip` (token
    /// `spamtest`, appid `wx2c2769f8efd9abc2`); the plaintext keeps its newlines.
    #[test]
    fn verifies_and_decrypts_the_python_sample_vector() {
        let encrypt_value = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
        assert_eq!(
            sorted_sha1_hex(&["spamtest", "1409735669", "1320562132", encrypt_value]),
            "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
        );
        let plain = decrypt(&key(SAMPLE_KEY), encrypt_value).expect("decrypts");
        assert_eq!(
            String::from_utf8(plain.message).expect("utf-8"),
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
        );
        assert_eq!(plain.receiver_id, b"wx2c2769f8efd9abc2");
    }

    /// Official: WeCom's `verifyURL` example, in Tencent's `workweixin/weworkapi_golang`
    /// `json_callback/sample.go` (same values in the Java test `testVerifyUrl`): token `QDG6eK`,
    /// receiver `wx5823bf96d3bd56c7`, expected echo `1616140317555161061`.
    #[test]
    fn verifies_and_decrypts_the_wecom_verify_url_vector() {
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        assert_eq!(
            sorted_sha1_hex(&["QDG6eK", "1409659589", "263014780", echostr]),
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
        );
        let plain = decrypt(&key("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"), echostr)
            .expect("decrypts");
        assert_eq!(plain.message, b"1616140317555161061");
        assert_eq!(plain.receiver_id, b"wx5823bf96d3bd56c7");
    }

    #[test]
    fn refuses_bad_keys_garbage_and_wrong_keys() {
        assert_eq!(
            AesKey::from_encoding_aes_key("short").map(|_| ()),
            Err(CryptoError::BadKey)
        );
        assert_eq!(
            AesKey::from_encoding_aes_key(&"!".repeat(43)).map(|_| ()),
            Err(CryptoError::BadKey)
        );
        let k = key(SAMPLE_KEY);
        assert_eq!(decrypt(&k, "not base64!!"), Err(CryptoError::BadCiphertext));
        assert_eq!(decrypt(&k, "YWJj"), Err(CryptoError::BadCiphertext));
        assert_eq!(decrypt(&k, ""), Err(CryptoError::BadCiphertext));
        // The Java vector under another key: the padding no longer checks out.
        let other = key("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
        let cipher = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
        assert!(decrypt(&other, cipher).is_err());
        // A well-padded plaintext whose length prefix overruns it.
        let mut forged = vec![0u8; 16];
        forged.extend_from_slice(&1000u32.to_be_bytes());
        forged.extend(std::iter::repeat_n(12u8, 12));
        let len = forged.len();
        let cipher = cbc::Encryptor::<Aes256>::new(&k.0.into(), &k.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut forged, len)
            .map(|c| STANDARD.encode(c))
            .expect("aligned");
        assert_eq!(decrypt(&k, &cipher), Err(CryptoError::BadLayout));
        assert_eq!(strip_pkcs7_32(&[1, 2, 33]), Err(CryptoError::BadPadding));
        assert_eq!(strip_pkcs7_32(&[1, 3, 2]), Err(CryptoError::BadPadding));
        assert_eq!(strip_pkcs7_32(&[7, 0]), Err(CryptoError::BadPadding));
        assert_eq!(strip_pkcs7_32(&[7, 2, 2]), Ok(&[7u8][..]));
    }
}
