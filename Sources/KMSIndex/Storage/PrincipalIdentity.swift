import Foundation
import GRDB

/// The canonical text that identifies a principal row.
enum PrincipalIdentity {
    /// 64-bit FNV-1a of an identity's bytes: `principals.identity_hash`, and the SQL function
    /// `principal_identity_hash(text)` that migration 007 computes it with.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: hash)
    }

    /// `hash` of a text's UTF-8 bytes: `context_values.value_hash` (migration 024).
    static func textHash(_ text: String) -> Int64 { text.withUTF8Bytes(hash) }

    /// `textHash` in SQL, of a text or of its bytes as a blob (a text is read up to a NUL).
    static let textHashFunction = DatabaseFunction("text_hash", argumentCount: 1, pure: true) { values in
        Data.fromDatabaseValue(values[0]).map { data in data.withUnsafeBytes { hash($0.bindMemory(to: UInt8.self)) } }
    }

    static let sqlFunction = DatabaseFunction("principal_identity_hash", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map { $0.withUTF8Bytes(hash) }
    }

    /// Appends the identity's UTF-8 bytes: the fields with a unit separator between them;
    /// absent fields are empty. Derived fields are left out. An Identity Center user's two
    /// fields (schema 33) follow only when one of them is given, and the three of schema 42 only
    /// when one of those is (the two of schema 33 before them, given or not): every other
    /// identity is the text it was before them, so the `identity_hash` stored for it still
    /// finds its row. A session's attributes (MFA, creation time, `ec2RoleDelivery`) are not
    /// part of it: they are the session's, as its access key is, and stored with its row.
    static func append(_ p: Principal, to bytes: inout [UInt8]) {
        // Field by field, not through an array of them: that array was allocated, filled
        // (a retain per field) and freed for every event.
        func add(_ field: String?, separator: Bool = true) {
            if separator { bytes.append(0x1F) }
            guard let field else { return }
            field.withUTF8Bytes { utf8 in
                if let base = utf8.baseAddress { bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: utf8.count)) }
            }
        }
        add(p.type, separator: false)
        add(p.arn)
        add(p.accountID)
        add(p.principalID)
        add(p.userName)
        add(p.roleARN)
        add(p.invokedBy)
        add(p.accessKeyID)
        add(p.sourceIdentity)
        add(p.credentialFromConsole)
        let later =
            !(p.identityProvider ?? "").isEmpty || !(p.credentialsIssuedTo ?? "").isEmpty
            || !(p.federatedProvider ?? "").isEmpty
        if later || !(p.onBehalfOfUserID ?? "").isEmpty || !(p.identityStoreARN ?? "").isEmpty {
            add(p.onBehalfOfUserID)
            add(p.identityStoreARN)
        }
        if later {
            add(p.identityProvider)
            add(p.credentialsIssuedTo)
            add(p.federatedProvider)
        }
    }
}
