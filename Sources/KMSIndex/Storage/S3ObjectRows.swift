import Foundation

/// How an S3 location is stored (migration 021): a row of `s3_object_rows` naming its folder in
/// `s3_folders` and keeping the rest of its key, less the start every log file name in that
/// folder has (`name_prefix`); or its whole key, where the folder and its prefix do not start
/// it. The view `s3_objects` puts keys back together.
///
/// Merge inserts with the SQL built here, as the migration does, and the writer cuts with `cut`,
/// its twin (a test holds them to the same rows): a key is cut only where the folder row's text
/// and prefix, compared as bytes, start it.
enum S3ObjectRows {
    /// What a row of `s3_object_rows` keeps of `key`, as `insert` cuts it: the rest of the key
    /// and the folder row `folderID` when the key's bytes start with that row's `head`
    /// (`folder || coalesce(name_prefix, '')`, as UTF-8), else the whole key and no folder.
    /// The cut falls after a '/' or a name prefix's ASCII, so the rest is whole characters.
    static func cut(_ key: String?, folderID: Int64?, head: [UInt8]?) -> (folderID: Int64?, name: String?) {
        guard let key, let folderID, let head, Self.key(key, startsWith: head) else { return (nil, key) }
        return (folderID, String(decoding: key.utf8.dropFirst(head.count), as: UTF8.self))
    }

    /// Whether the UTF-8 bytes of `key` start with `head`.
    static func key(_ key: String, startsWith head: [UInt8]) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            bytes.count >= head.count && (head.isEmpty || memcmp(bytes.baseAddress!, head, head.count) == 0)
        }
    }

    /// An INSERT of one row of `s3_object_rows` per row of `source` (a FROM clause) that
    /// `filter` keeps. `values` (SQL over `source`): `id` (nil: a new one), `kind`,
    /// `bucket_id`, `key` (whole), `key_hash`, and `folder_id`, the id of the folder row that
    /// may start the key (NULL: none).
    static func insert(
        id: String? = nil, kind: String, bucketID: String, key: String, keyHash: String, folderID: String,
        source: String = "(SELECT 1)", filter: String? = nil, orderBy: String? = nil, schema: String = "main"
    ) -> String {
        """
        INSERT INTO \(schema).s3_object_rows (\(id == nil ? "" : "id, ")kind, bucket_id, folder_id, name, key_hash)
        SELECT \(id == nil ? "" : "v.id, ")v.kind, v.bucket_id, iif(v.fits, v.folder_id, NULL),
               iif(v.fits, CAST(substr(v.k, length(v.head) + 1) AS TEXT), v.key), v.key_hash
        FROM (
            SELECT w.*, coalesce(length(w.k) >= length(w.head) AND substr(w.k, 1, length(w.head)) = w.head, 0) AS fits
            FROM (
                SELECT \(id.map { "\($0) AS id, " } ?? "")\(kind) AS kind, \(bucketID) AS bucket_id, \(key) AS key,
                       \(keyHash) AS key_hash, f.id AS folder_id, CAST(\(key) AS BLOB) AS k,
                       CAST(f.folder || coalesce(f.name_prefix, '') AS BLOB) AS head\(orderBy.map { ", \($0) AS sort_key" } ?? "")
                FROM \(source) LEFT JOIN \(schema).s3_folders f ON f.id = \(folderID)\(filter.map { " WHERE \($0)" } ?? "")
            ) w
        ) v\(orderBy == nil ? "" : " ORDER BY v.sort_key")
        """
    }
}
