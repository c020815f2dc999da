//! The MD5 digests SQS returns with a received message, which SDKs (botocore, the Java SDK)
//! check: of the body, and of the message attributes as the SQS developer guide describes it
//! ("Calculating the MD5 message digest for message attributes",
//! docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html):
//! for each attribute in name order, the name and the data type, each as a 4-byte big-endian
//! length and the UTF-8 bytes, then one transport byte (1 for String) and the value, again as a
//! length and its bytes.

use md5::{Digest, Md5};

/// MD5 of the body, lower-case hex.
pub fn of_body(body: &str) -> String {
    hex::encode(Md5::digest(body.as_bytes()))
}

/// MD5 of string-valued message attributes, lower-case hex (sorted by name here).
pub fn of_string_attributes(attributes: &[&(String, String)]) -> String {
    let mut sorted = attributes.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut md5 = Md5::new();
    let length_and = |md5: &mut Md5, bytes: &[u8]| {
        md5.update((bytes.len() as u32).to_be_bytes());
        md5.update(bytes);
    };
    for (name, value) in sorted {
        length_and(&mut md5, name.as_bytes());
        length_and(&mut md5, b"String");
        md5.update([1u8]);
        length_and(&mut md5, value.as_bytes());
    }
    hex::encode(md5.finalize())
}
