import XCTest

@testable import KMSIndex

/// The byte-level ARN split of the normalizer against `ARN`, which it stands in for.
final class ARNBytesTests: XCTestCase {
    let texts = [
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:r:1:key/",
        "arn:aws:kms:r:1:key/x", "arn:aws:kms:r:1:alias/x", "arn:aws:kms:r:1:alias/", "arn:aws:kms:r:1:alias",
        "arn:aws:kms:::key/x", "arn::kms:r:1:key/x", "arn:aws::r:1:key/x", "arn:aws:kms:r:1", "arn:aws:kms:r:1:",
        "arn:aws:kms:r:1:key/x:y:z", "arn:", "arn", "", "ARN:aws:kms:r:1:key/x", "arn:aws:kms:r:1:key/\u{301}x",
        "arn:aws:kms:r:1:key\u{301}/x", "arn:aws:kms:r:1:alias/\u{301}", "arn:aws:kms\u{301}:r:1:key/x",
        "arn:aws:\u{212A}ms:r:1:key/x", "arn:aws:kms:r:1:\u{212A}ey/x", "arn:aws:sts::1:assumed-role/R/s",
        "arn:aws:sts:::", "arn:aws-cn:sts:r:1:federated-user/bob", "arn:é:kms:r:1:key/é", "alias/x",
        "arn:aws:kms:r:1:key/é", "arn:aws:kms:r:1:alias/é",
    ]

    func testSplitsAsARNDoes() {
        for text in texts {
            let arn = ARN(text)
            text.withARNBytes { bytes in
                XCTAssertEqual(bytes == nil, arn == nil, text)
                guard let bytes, let arn else { return }
                XCTAssertEqual(bytes.string(bytes.partition), arn.partition, text)
                XCTAssertEqual(bytes.string(bytes.service), arn.service, text)
                XCTAssertEqual(bytes.string(bytes.account), arn.account, text)
                XCTAssertEqual(bytes.string(bytes.resourceStart..<bytes.bytes.count), String(arn.resource), text)
                XCTAssertEqual(bytes.serviceIs("kms"), arn.service == "kms", text)
                XCTAssertEqual(bytes.serviceIs("sts"), arn.service == "sts", text)
                XCTAssertEqual(bytes.isKMSKey(text), arn.isKMSKey, text)
                XCTAssertEqual(bytes.isKMSAlias(text), arn.isKMSAlias, text)
            }
        }
    }

    func testAliasNamesAsFromARN() {
        for text in texts {
            let expected: String? =
                text.hasPrefix("alias/")
                ? text : ARN(text).flatMap { $0.isKMSAlias ? String($0.resource) : nil }
            XCTAssertEqual(EventNormalizer.aliasName(text), expected, text)
        }
    }
}
